"""ws-relay fan-out: many map clients while points stream in, against a raw aiokafka consumer in the same run.

    python bench/ws_relay_bench.py [--clients 200] [--rate 5000] [--seconds 20] [--vehicles 2000]
    python bench/ws_relay_bench.py --mixed-only [--mixed-clients 1000] [--mixed-rate 10000]

Two runs. The first (skipped with ``--mixed-only``) is described below. The second puts
``--mixed-clients`` maps with mixed viewports (world, country, city, antimeridian) on a fleet of
``--mixed-vehicles`` vehicles (most in a few cities, the rest spread over the world) updated at
``--mixed-rate`` points/s, once with protocol v2 binary frames (tile subscriptions, shared frames) and
once, as the baseline, with the v1 JSON feed (per-viewport filtering), each on a fresh relay in the
same run: delivered frames/s and bytes/s, latency record -> client, relay CPU and RSS.

A paced producer writes ``--rate`` points/s to ``websocket_updates_topic`` (record timestamp = point
``ts`` = send time); ``--clients`` WebSocket clients read the relay (every fourth one with a viewport
of a quarter of the world), plus one client that never reads. Latency is measured per delivered point,
from the Kafka record timestamp to the moment a probe client has the frame (every 7th client parses
every frame; the others count frames and bytes), spread over ``--client-processes``. Everything shares
one machine: the figures include the clients', the producer's and the broker's CPU, and the table shows
how much CPU other processes took during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import queue
import random
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil
import requests
from common import ROOT, percentile, print_table

sys.path.insert(0, str(ROOT / "tests" / "integration" / "ws_relay"))

from relay_feed import raw_client, relay_process

from geostream.kafka import make_producer
from localservers import KafkaServer, free_port

TOPIC = "websocket_updates_topic"
WARM_UP_S = 8
RELAY_BENCH_ENV = {"RELAY_MAX_CLIENTS_PER_IP": "0"}  # every bench client connects from 127.0.0.1
HIST_MS = 10_000
QUARTER = [-180, 0, 0, 90]


def produce(brokers: str, rate: int, vehicles: int, seconds: float, out: mp.Queue) -> None:
    """Paced producer: ``rate`` points/s in 10 ms slices, each vehicle on a small random walk."""
    producer = make_producer(brokers, client_id="bench-ws-producer", **{"linger.ms": 2})
    rng = random.Random(7)
    ids = [f"bench-{i:05d}" for i in range(vehicles)]
    keys = [v.encode() for v in ids]
    pos = [[rng.uniform(-179, 179), rng.uniform(-80, 80)] for _ in ids]
    start = time.perf_counter()
    sent = 0
    n = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(elapsed * rate) - sent
        for _ in range(due):
            i = n % vehicles
            n += 1
            p = pos[i]
            p[0] = max(-179.9, min(179.9, p[0] + rng.uniform(-0.01, 0.01)))
            p[1] = max(-85.0, min(85.0, p[1] + rng.uniform(-0.01, 0.01)))
            ts = int(time.time() * 1000)
            value = orjson.dumps(
                {"vehicle_id": ids[i], "ts": ts, "lon": p[0], "lat": p[1], "speed": 12.5, "heading": 90.0}
            )
            while True:
                try:
                    producer.produce(TOPIC, value, keys[i], timestamp=ts)
                    break
                except BufferError:
                    producer.poll(0.005)
        sent += due
        producer.poll(0)
        time.sleep(0.01)
    producer.flush(30)
    out.put(sent)


async def run_clients(url: str, ids: list[int], start_at: float, end_at: float) -> dict:
    from websockets.asyncio.client import connect

    hist = [0] * (HIST_MS + 1)
    results = []

    async def one(i: int) -> None:
        probe = i % 7 == 0
        ws = await connect(url, max_size=None, compression=None, open_timeout=60)
        frames = points = size = 0
        max_gap = 0.0
        last = None
        try:
            await ws.recv(decode=False)  # snapshot
            if i % 4 == 3:
                await ws.send(orjson.dumps({"type": "viewport", "bbox": QUARTER}).decode())
            while True:
                raw = await ws.recv(decode=False)
                now = time.time()
                if now >= end_at:
                    break
                if now < start_at:
                    continue
                frames += 1
                size += len(raw)
                if last is not None:
                    max_gap = max(max_gap, now - last)
                last = now
                if probe:
                    now_ms = now * 1000
                    vehicles = orjson.loads(raw)["vehicles"]
                    points += len(vehicles)
                    for p in vehicles:
                        hist[min(HIST_MS, max(0, int(now_ms - p["ts"])))] += 1
        finally:
            await ws.close()
        results.append({"client": i, "frames": frames, "bytes": size, "max_gap_s": max_gap, "probe": probe})

    await asyncio.gather(*(one(i) for i in ids))
    return {"hist": hist, "clients": results}


def clients_process(url: str, ids: list[int], start_at: float, end_at: float, out: mp.Queue) -> None:
    out.put(asyncio.run(run_clients(url, ids, start_at, end_at)))


def cpu_seconds(what: psutil.Process | tuple) -> float:
    times = what.cpu_times() if isinstance(what, psutil.Process) else what
    return times.user + times.system


def hist_percentile(hist: list[int], q: float) -> float:
    total = sum(hist)
    if not total:
        return float("nan")
    rank = q / 100 * total
    seen = 0
    for ms, count in enumerate(hist):
        seen += count
        if seen >= rank:
            return float(ms)
    return float(HIST_MS)


def live_consumer(brokers: str, start_at: float, end_at: float, out: mp.Queue) -> None:
    """A raw aiokafka consumer reading the live stream during the run, with the relay's fetch wait:
    the latency from record timestamp to consumer, the part of the relay's latency Kafka accounts for."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def consume() -> list[int]:
        hist = [0] * (HIST_MS + 1)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=brokers, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100
        )
        await consumer.start()
        try:
            tps = [TopicPartition(TOPIC, p) for p in range(6)]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            while time.time() < end_at:
                batches = await consumer.getmany(timeout_ms=200, max_records=1000)
                now = time.time()
                if now < start_at:
                    continue
                for records in batches.values():
                    for record in records:
                        orjson.loads(record.value)
                        hist[min(HIST_MS, max(0, int(now * 1000 - record.timestamp)))] += 1
        finally:
            await consumer.stop()
        return hist

    out.put(asyncio.run(consume()))


def raw_consumer_rate(brokers: str) -> tuple[int, float]:
    """One raw aiokafka consumer reading the whole topic from the beginning: records/s."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def consume() -> tuple[int, float]:
        consumer = AIOKafkaConsumer(bootstrap_servers=brokers, group_id=None, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC) or [])]
            if not tps:
                tps = [TopicPartition(TOPIC, p) for p in range(6)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            total = sum(ends.values())
            count = 0
            start = time.perf_counter()
            while count < total:
                batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
                for records in batches.values():
                    for record in records:
                        orjson.loads(record.value)
                    count += len(records)
            return count, time.perf_counter() - start
        finally:
            await consumer.stop()

    return asyncio.run(consume())


CITIES = {  # name: (lon, lat, share of the fleet)
    "paris": (2.35, 48.86, 0.2),
    "new-york": (-73.98, 40.75, 0.15),
    "tokyo": (139.76, 35.68, 0.15),
    "suva": (178.44, -18.14, 0.05),  # next to the antimeridian
}
MIXED_VIEWPORTS = [  # (kind, share of the clients, bbox or None, map zoom)
    ("world", 0.10, None, 1.5),
    ("country", 0.30, [-5.0, 42.0, 8.0, 51.0], 5.5),
    ("city", 0.45, [2.25, 48.8, 2.45, 48.92], 12.0),
    ("antimeridian", 0.15, [170.0, -25.0, -170.0, -10.0], 5.0),
]


def mixed_positions(vehicles: int, rng: random.Random) -> list[list[float]]:
    """Most vehicles in a few cities (about 20 km across), the rest anywhere."""
    pos = []
    for i in range(vehicles):
        share = i / vehicles
        for lon, lat, part in CITIES.values():
            if share < part:
                pos.append([lon + rng.uniform(-0.12, 0.12), lat + rng.uniform(-0.08, 0.08)])
                break
            share -= part
        else:
            pos.append([rng.uniform(-179, 179), rng.uniform(-70, 70)])
    return pos


def produce_mixed(brokers: str, rate: int, vehicles: int, seconds: float, out: mp.Queue) -> None:
    """Paced producer for the mixed run: every field the panel shows, vehicles on small random walks."""
    producer = make_producer(brokers, client_id="bench-ws-producer-mixed", **{"linger.ms": 2})
    rng = random.Random(11)
    ids = [f"mixed-{i:06d}" for i in range(vehicles)]
    keys = [v.encode() for v in ids]
    pos = mixed_positions(vehicles, rng)
    start = time.perf_counter()
    sent = n = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(elapsed * rate) - sent
        for _ in range(due):
            i = n % vehicles
            n += 1
            p = pos[i]
            p[0] = max(-179.99, min(179.99, p[0] + rng.uniform(-0.0005, 0.0005)))
            p[1] = max(-85.0, min(85.0, p[1] + rng.uniform(-0.0005, 0.0005)))
            ts = int(time.time() * 1000)
            value = orjson.dumps(
                {"vehicle_id": ids[i], "ts": ts, "lon": p[0], "lat": p[1], "speed": 8.5, "heading": 45.0,
                 "alt": 35.0, "battery": 80.0, "source": "simulator"}
            )  # fmt: skip
            while True:
                try:
                    producer.produce(TOPIC, value, keys[i], timestamp=ts)
                    break
                except BufferError:
                    producer.poll(0.005)
        sent += due
        producer.poll(0)
        time.sleep(0.01)
    producer.flush(30)
    out.put(sent)


def warm_up(brokers: str, rate: int, vehicles: int) -> None:
    """A few seconds of the paced load before measuring: a fresh broker (JVM) is slower for a while,
    which measured alone would penalise whichever protocol runs first."""
    produce_mixed(brokers, rate, vehicles, WARM_UP_S, queue.SimpleQueue())


def viewport_of(i: int) -> tuple[str, list[float] | None, float]:
    """Client ``i``'s viewport, spreading the kinds by their shares."""
    slot = (i * 0.6180339887) % 1.0  # golden-ratio spread: every process gets every kind
    for kind, share, bbox, zoom in MIXED_VIEWPORTS:
        if slot < share:
            return kind, bbox, zoom
        slot -= share
    return MIXED_VIEWPORTS[-1][0], MIXED_VIEWPORTS[-1][2], MIXED_VIEWPORTS[-1][3]


def frame_stamps(raw: bytes | str, protocol: str) -> list[float]:
    """Event times (ms) of the points in a data frame; [] for anything else."""
    if protocol == "v1":
        return [p["ts"] for p in orjson.loads(raw)["vehicles"]]
    if isinstance(raw, str):
        return []  # hello, heartbeat
    n = int.from_bytes(raw[8:12], "little")
    if raw[4] == 3 or not n:
        return []  # remove
    return list(struct.unpack_from(f"<{n}d", raw, 24 + 16 * n))


async def run_mixed_clients(base: str, protocol: str, ids: list[int], start_at: float, end_at: float) -> dict:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    hist = [0] * (HIST_MS + 1)
    results = []
    handshakes = asyncio.Semaphore(20)  # 1,000 at once would outlast the relay's handshake timeout

    async def open_connection(url: str):
        for attempt in range(6):
            try:
                async with handshakes:
                    return await connect(url, max_size=None, compression=None, open_timeout=60)
            except (OSError, TimeoutError, InvalidHandshake):
                await asyncio.sleep(0.5 * 2**attempt)
        return None

    async def one(i: int) -> None:
        kind, bbox, zoom = viewport_of(i)
        probe = i % 7 == 0
        if protocol == "v2":
            url = f"{base}?v=2&format=bin" + (f"&bbox={','.join(map(str, bbox))}" if bbox else "")
        else:
            url = base + (f"?bbox={','.join(map(str, bbox))}" if bbox else "")
        ws = await open_connection(url)
        if ws is None:
            results.append({"kind": kind, "frames": 0, "bytes": 0, "probe": False, "failed": True})
            return
        frames = size = 0
        try:
            if protocol == "v2":
                await ws.send(orjson.dumps({"type": "viewport", "bbox": bbox, "zoom": zoom}).decode())
            while True:
                raw = await ws.recv()
                now = time.time()
                if now >= end_at:
                    break
                if now < start_at:
                    continue
                frames += 1
                size += len(raw)
                if probe:
                    for ts in frame_stamps(raw, protocol):
                        hist[min(HIST_MS, max(0, int(now * 1000 - ts)))] += 1
        except ConnectionClosed:
            results.append({"kind": kind, "frames": frames, "bytes": size, "probe": probe, "failed": True})
            return
        finally:
            await ws.close()
        results.append({"kind": kind, "frames": frames, "bytes": size, "probe": probe, "failed": False})

    await asyncio.gather(*(one(i) for i in ids))
    return {"hist": hist, "clients": results}


def mixed_clients_process(
    base: str, protocol: str, ids: list[int], start_at: float, end_at: float, out
) -> None:
    out.put(asyncio.run(run_mixed_clients(base, protocol, ids, start_at, end_at)))


def mixed_run(kafka: KafkaServer, work: Path, protocol: str, args: argparse.Namespace) -> dict:
    """One protocol on a fresh relay: clients connect, then the paced producer runs."""
    port = free_port()
    relay = relay_process(port, kafka.bootstrap, work / f"relay-mixed-{protocol}.log", **RELAY_BENCH_ENV)
    try:
        relay.start()
        relay.wait_healthy(f"http://127.0.0.1:{port}/health", timeout=300)
        base = f"ws://127.0.0.1:{port}/"
        connect_s = max(10.0, args.mixed_clients / 20)  # 1,000 handshakes on a loaded 2-core machine
        t0 = time.time() + connect_s
        start_at, end_at = t0 + args.warmup, t0 + args.warmup + args.seconds
        results: mp.Queue = mp.Queue()
        sent_q: mp.Queue = mp.Queue()
        n = args.client_processes
        groups = [list(range(args.mixed_clients))[k::n] for k in range(n)]
        procs = [
            mp.Process(target=mixed_clients_process, args=(base, protocol, ids, start_at, end_at, results))
            for ids in groups
        ]
        for process in procs:
            process.start()
        time.sleep(max(0.0, t0 - time.time()))
        producer = mp.Process(
            target=produce_mixed,
            args=(
                kafka.bootstrap,
                args.mixed_rate,
                args.mixed_vehicles,
                args.warmup + args.seconds + 1,
                sent_q,
            ),
        )
        producer.start()
        proc = psutil.Process(relay.process.pid)
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = cpu_seconds(proc)
        rss = []
        while time.time() < end_at:
            rss.append(proc.memory_info().rss / 1e6)
            time.sleep(0.5)
        relay_cpu = (cpu_seconds(proc) - cpu0) / args.seconds
        parts = [results.get(timeout=300) for _ in procs]
        for process in procs:
            process.join(30)
        sent = sent_q.get(timeout=120)
        producer.join(30)
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).json()
    finally:
        relay.stop()
    clients = [c for part in parts for c in part["clients"]]
    return {
        "hist": [sum(counts) for counts in zip(*(part["hist"] for part in parts), strict=True)],
        "clients": clients,
        "relay_cpu": relay_cpu,
        "rss_peak": max(rss),
        "sent": sent,
        "metrics": metrics,
    }


def print_mixed(args: argparse.Namespace, runs: dict[str, dict]) -> None:
    rows = []
    for protocol, label in (("v2", "v2 binary, tile subscriptions"), ("v1", "v1 JSON (baseline)")):
        run = runs[protocol]
        clients = run["clients"]
        frames = sum(c["frames"] for c in clients) / args.seconds
        size = sum(c["bytes"] for c in clients) / args.seconds
        hist = run["hist"]
        by_kind = {k: [c for c in clients if c["kind"] == k] for k, *_ in MIXED_VIEWPORTS}
        per_kind = ", ".join(
            f"{k} {sum(c['bytes'] for c in cs) / max(1, len(cs)) / args.seconds / 1e3:.0f}"
            for k, cs in by_kind.items()
        )
        rows += [
            (f"{label}: clients connected (failed or dropped)",
             f"{sum(not c['failed'] for c in clients):,} ({sum(c['failed'] for c in clients)})"),
            (f"{label}: delivered", f"{frames:,.0f} frames/s, {size / 1e6:.1f} MB/s"),
            (f"{label}: kB/s per client by viewport", per_kind),
            (f"{label}: latency record -> client p50 / p99",
             f"{hist_percentile(hist, 50):.0f} / {hist_percentile(hist, 99):.0f} ms ({sum(hist):,} points)"),
            (f"{label}: relay CPU / peak RSS",
             f"{run['relay_cpu']:.0%} of one core / {run['rss_peak']:.0f} MB"),
            (f"{label}: frames sent / skipped, slow clients dropped",
             f"{run['metrics']['frames_sent']:,} / {run['metrics']['frames_skipped']:,}, "
             f"{run['metrics']['clients_dropped_slow']}"),
        ]  # fmt: skip
    rows.append(("points produced (v2 run / v1 run)", f"{runs['v2']['sent']:,} / {runs['v1']['sent']:,}"))
    rows.append(("machine load average", f"{psutil.getloadavg()[0]:.1f} on {psutil.cpu_count()} cores"))
    mix = ", ".join(f"{k} {share:.0%}" for k, share, *_ in MIXED_VIEWPORTS)
    print_table(
        f"ws-relay mixed viewports: {args.mixed_clients:,} clients ({mix}), {args.mixed_rate:,} points/s, "
        f"{args.mixed_vehicles:,} vehicles, {args.seconds:.0f} s measured per protocol",
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=4)
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--mixed-only", action="store_true", help="skip the first run")
    parser.add_argument("--skip-mixed", action="store_true", help="skip the mixed-viewport run")
    parser.add_argument("--mixed-clients", type=int, default=1000)
    parser.add_argument("--mixed-rate", type=int, default=10_000)
    parser.add_argument("--mixed-vehicles", type=int, default=20_000)
    args = parser.parse_args()
    if not args.mixed_only:
        classic_run(args)
    if not args.skip_mixed:
        work = Path(tempfile.mkdtemp(prefix="bench-ws-relay-mixed-"))
        kafka = KafkaServer(work / "kafka").start()
        try:
            warm_up(kafka.bootstrap, args.mixed_rate, args.mixed_vehicles)
            runs = {protocol: mixed_run(kafka, work, protocol, args) for protocol in ("v2", "v1")}
            print_mixed(args, runs)
        finally:
            kafka.stop()
            shutil.rmtree(work, ignore_errors=True)


def classic_run(args: argparse.Namespace) -> None:

    work = Path(tempfile.mkdtemp(prefix="bench-ws-relay-"))
    kafka = KafkaServer(work / "kafka").start()
    port = free_port()
    relay = relay_process(port, kafka.bootstrap, work / "relay.log", **RELAY_BENCH_ENV)
    fresh = None
    try:
        relay.start()
        relay.wait_healthy(f"http://127.0.0.1:{port}/health")
        url = f"ws://127.0.0.1:{port}/"
        stalled = raw_client(port)  # connected for the whole run, never reads

        t0 = time.time() + 3  # clients connect (and get their snapshot) before points flow
        start_at, end_at = t0 + args.warmup, t0 + args.warmup + args.seconds
        results: mp.Queue = mp.Queue()
        sent_q: mp.Queue = mp.Queue()
        groups = [list(range(args.clients))[k :: args.client_processes] for k in range(args.client_processes)]
        client_procs = [
            mp.Process(target=clients_process, args=(url, ids, start_at, end_at, results)) for ids in groups
        ]
        for process in client_procs:
            process.start()
        live_q: mp.Queue = mp.Queue()
        live = mp.Process(target=live_consumer, args=(kafka.bootstrap, start_at, end_at, live_q))
        live.start()
        time.sleep(max(0.0, t0 - time.time()))
        producer = mp.Process(
            target=produce,
            args=(kafka.bootstrap, args.rate, args.vehicles, args.warmup + args.seconds + 1, sent_q),
        )
        producer.start()

        proc = psutil.Process(relay.process.pid)
        others = {f"clients{k}": psutil.Process(p.pid) for k, p in enumerate(client_procs)}
        others.update(producer=psutil.Process(producer.pid), broker=psutil.Process(kafka.process.pid))
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = proc.cpu_times()
        others0 = {k: p.cpu_times() for k, p in others.items()}
        machine0 = psutil.cpu_times()
        rss = []
        while time.time() < end_at:
            rss.append(proc.memory_info().rss / 1e6)
            time.sleep(0.5)
        cpu1 = proc.cpu_times()
        others_cpu = {k: cpu_seconds(p) - cpu_seconds(others0[k]) for k, p in others.items()}
        others_cpu = {k: v / args.seconds for k, v in others_cpu.items()}
        machine1 = psutil.cpu_times()
        relay_cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / args.seconds
        busy = sum(getattr(machine1, f) - getattr(machine0, f) for f in ("user", "system", "nice", "softirq"))
        machine_cpu = busy / (psutil.cpu_count() * args.seconds)
        parts = [results.get(timeout=120) for _ in client_procs]
        for process in client_procs:
            process.join(30)
        measured = {
            "hist": [sum(counts) for counts in zip(*(part["hist"] for part in parts), strict=True)],
            "clients": [c for part in parts for c in part["clients"]],
        }
        clients_cpu = sum(v for k, v in others_cpu.items() if k.startswith("clients"))
        sent = sent_q.get(timeout=120)
        live_hist = live_q.get(timeout=120)
        live.join(30)
        producer.join(30)
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).json()
        stalled.close()
        relay.stop()

        count, elapsed = raw_consumer_rate(kafka.bootstrap)
        fresh_port = free_port()
        fresh = relay_process(fresh_port, kafka.bootstrap, work / "relay-fresh.log", **RELAY_BENCH_ENV)
        started = time.perf_counter()
        fresh.start()
        fresh.wait_healthy(f"http://127.0.0.1:{fresh_port}/health", timeout=300)
        lookback_s = time.perf_counter() - started
        fresh_metrics = requests.get(f"http://127.0.0.1:{fresh_port}/metrics", timeout=10).json()
        lookback_records = fresh_metrics["records"]

        per_client = measured["clients"]
        fps = [c["frames"] / args.seconds for c in per_client]
        mbps = sum(c["bytes"] for c in per_client) / args.seconds / 1e6
        gaps = [c["max_gap_s"] for c in per_client]
        hist = measured["hist"]
        print_table(
            f"ws-relay: {args.clients} clients (+1 that never reads), {args.rate:,} points/s, "
            f"{args.vehicles:,} vehicles, {args.seconds:.0f} s measured",
            [
                ("points produced", f"{sent:,} ({sent / (args.warmup + args.seconds + 1):,.0f}/s)"),
                (
                    "frames/s per client min / median / max",
                    f"{min(fps):.1f} / {percentile(fps, 50):.1f} / {max(fps):.1f}",
                ),
                ("longest gap between two frames (any client)", f"{max(gaps) * 1000:.0f} ms"),
                ("delivered to clients", f"{mbps:.1f} MB/s"),
                ("latency record -> client p50 / p99 / max", " / ".join(
                    f"{hist_percentile(hist, q):.0f} ms" for q in (50, 99, 100))
                 + f" ({sum(hist):,} points on {sum(c['probe'] for c in per_client)} probe clients)"),
                ("same, raw aiokafka consumer (Kafka's share)",
                 " / ".join(f"{hist_percentile(live_hist, q):.0f} ms" for q in (50, 99, 100))),
                ("relay CPU", f"{relay_cpu:.0%} of one core"),
                ("machine CPU (all processes)", f"{machine_cpu:.0%} of {psutil.cpu_count()} cores"),
                (f"CPU of the clients ({args.client_processes} processes) / producer / broker",
                 f"{clients_cpu:.0%} / {others_cpu['producer']:.0%} / {others_cpu['broker']:.0%}"),
                ("CPU of other processes on the machine",
                 f"{machine_cpu * psutil.cpu_count() - relay_cpu - sum(others_cpu.values()):.0%} of one core "
                 f"(load average {psutil.getloadavg()[0]:.1f})"),
                ("relay memory", f"{max(rss):.0f} MB peak RSS"),
                ("relay frames sent / skipped",
                 f"{metrics['frames_sent']:,} / {metrics['frames_skipped']:,}"),
                ("slow clients dropped", f"{metrics['clients_dropped_slow']}"),
                ("raw aiokafka consumer (baseline)", f"{count / elapsed:,.0f} records/s ({count:,} records)"),
                ("fresh relay look-back", f"{lookback_records / lookback_s:,.0f} records/s "
                 f"({lookback_records:,} records, healthy after {lookback_s:.1f} s)"),
                ("targets", "p99 < 500 ms at 200 clients; no client starves while one is slow"),
            ],
        )  # fmt: skip
    finally:
        relay.stop()
        if fresh is not None:
            fresh.stop()
        kafka.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
