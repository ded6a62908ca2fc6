"""The whole vehicle pipeline at once: the highest sustained ingest rate with p99 freshness < 2 s.

    python bench/pipeline_bench.py [--rates 1000,2000,4000,8000,12000,16000] [--step-seconds 30]

Every stage runs at the same time on this machine, started by scripts/localservers/stack.py on free ports
(real Kafka, PostgreSQL + MobilityDB, http-ingest, the Flink job on a MiniCluster, the segmenter when the
stack has one, ws-relay, trips-api): http-ingest -> Kafka -> Flink -> MobilityDB, and at the same time

- load: ``--processes`` processes POST batches of ``--batch`` points for ``--vehicles`` vehicles to
  ``/ingest/location``, paced to the offered rate of the step (event time = send time, ms);
- probe: every ``--probe-interval`` s one single-point POST for one of ``--probe-vehicles`` vehicles;
- freshness (what is measured): from the probe POST's 202 (Kafka acknowledged the point) to the first
  trips-api reply of ``GET /api/vehicles/<id>/trajectory`` whose newest trip end has reached the point's
  time, i.e. the point is part of the trajectory the map's history view gets. A poller asks for each probe
  vehicle with a point pending, one request after another; the figure is the reply's arrival (an upper
  bound; the poll cycle is printed as the resolution). A point never seen counts as infinitely late;
- live feed: one WebSocket client (JSON frames, the whole world, in its own process) of ws-relay; latency
  = from the probe POST's 202 to the frame that carries the point;
- readers: trips-api also answers ``/api/vehicles/latest`` and ``/api/trips`` twice a second.

The offered rate steps up; a step is sustained when the load's acknowledged rate is >= 95 % of the offered
rate and the probes' p99 freshness is < 2 s (probes of the step's first ``--settle`` s left out). The run
stops when a step's rate is not acknowledged or after two steps in a row that missed the freshness target
(``--all-steps`` runs them all). Steps run back to back, so a backlog carries over, as it would in
production; a ``--warmup`` at the first rate comes first. Takes about 1-4 min to start the stack (JVMs,
the Flink job's first row), the warm-up (60 s), the steps (30 s each, 6 at most by default) and up to
``--grace`` s at the end (4-7 min start while the machine was busy).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import queue
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import psutil
from common import ROOT, bench_workdir, percentile, print_table, stop_on_sigterm

from localservers import free_port
from localservers.postgres import _postmaster_pid
from localservers.stack import LocalStack, Ports, Service

SUSTAINED_ACK_SHARE = 0.95
# Child processes start fresh: forking while the probe threads hold locks could hang a child.
MP = mp.get_context("spawn")
FRESHNESS_TARGET_S = 2.0
PROBE_BOX = (30.0, 60.0, 31.0, 61.0)  # lon/lat box of the probe vehicles (the load stays in Europe's west)


# -- pure logic ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    rate: int
    start: float  # time.time() of the step's first offered point
    end: float


@dataclass
class StepResult:
    step: Step
    acked_points: int
    failed_posts: int
    freshness: list[float]  # seconds, float("inf") for a probe point never seen
    live: list[float]  # seconds, probe points seen on the live feed
    live_missing: int

    @property
    def acked_rate(self) -> float:
        return self.acked_points / (self.step.end - self.step.start)

    @property
    def freshness_p99(self) -> float:
        return percentile(self.freshness, 99)

    @property
    def sustained(self) -> bool:
        return (
            bool(self.freshness)
            and self.acked_rate >= SUSTAINED_ACK_SHARE * self.step.rate
            and self.freshness_p99 < FRESHNESS_TARGET_S
        )


def vehicle_batch(vehicles: list[str], points_each: int, last_ts: dict[str, int], now_ms: int) -> list[dict]:
    """One POST body: ``points_each`` points per vehicle, event times strictly increasing per vehicle and
    never ahead of now by more than the batch (http-ingest refuses points far in the future)."""
    body = []
    for vehicle in vehicles:
        first = max(now_ms - points_each, last_ts.get(vehicle, 0) + 1)
        stamps = [first + i for i in range(points_each)]
        last_ts[vehicle] = stamps[-1]
        n = int(vehicle.rsplit("-", 1)[1])
        lon, lat = -5.0 + (n % 200) * 0.1, 40.0 + (n // 200) * 0.1
        path = [[round(lon + (t % 600_000) * 1e-7, 6), lat] for t in stamps]
        body.append({"vehicleID": vehicle, "path": path, "timestamps": stamps})
    return body


def step_probes(
    sent: dict[tuple[str, int], float], seen: dict[tuple[str, int], float], start: float, end: float
) -> list[float]:
    """Delays (s) from each probe's 202 to the moment it was seen, for the probes acknowledged in
    [start, end); inf for the ones never seen."""
    return [seen.get(key, float("inf")) - acked for key, acked in sent.items() if start <= acked < end]


def fmt_s(value: float) -> str:
    return "never" if value == float("inf") else f"{value:.2f} s"


# -- load ------------------------------------------------------------------------------------------------


class Ingest:
    """A keep-alive HTTP/1.1 connection to http-ingest."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, body: list[dict]) -> int:
        """The reply's status, 0 when there was none. A keep-alive connection the server closed while idle
        (between steps) fails at once: that request is sent again once on a new connection (a repeated
        point is stored once)."""
        payload = orjson.dumps(body)
        for attempt in (1, 2):
            try:
                self.conn.request("POST", "/ingest/location", payload, {"Content-Type": "application/json"})
                reply = self.conn.getresponse()
                reply.read()
                return reply.status
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                stale = isinstance(
                    exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
                )
                if attempt == 2 or not stale:
                    return 0
        return 0


def load_worker(
    ingest_url: str, index: int, processes: int, vehicles: int, batch: int, commands, results
) -> None:
    """One load process, kept for the whole run: for each ``(rate, seconds, start_at)`` it POSTs ``rate``
    points/s in batches of ``batch`` points (5 per vehicle) from ``start_at`` (epoch s) on, open loop: a
    process that falls behind posts at once until it has caught up with the schedule."""
    names = [f"load-{n:05d}" for n in range(index, vehicles, processes)]
    points_each = 5
    per_post = max(1, min(len(names), batch // points_each))
    ingest = Ingest(ingest_url)
    last_ts: dict[str, int] = {}
    posts = 0
    while (command := commands.get()) is not None:
        rate, seconds, start_at = command
        interval = per_post * points_each / rate
        acked = failed = sent = 0
        while (elapsed := time.time() - start_at) < seconds:
            due = sent * interval
            if due > elapsed:
                time.sleep(min(due - elapsed, seconds - elapsed))
                continue
            chosen = [names[(posts * per_post + i) % len(names)] for i in range(per_post)]
            status = ingest.post(vehicle_batch(chosen, points_each, last_ts, time.time_ns() // 1_000_000))
            if status == 202:
                acked += per_post * points_each
            else:
                failed += 1
            sent += 1
            posts += 1
        results.put((acked, failed))


class LoadGenerator:
    """``processes`` load processes, started once (a spawned interpreter takes seconds to import)."""

    def __init__(self, ingest_url: str, processes: int, vehicles: int, batch: int):
        self.results = MP.Queue()
        self.commands = [MP.Queue() for _ in range(processes)]
        self.workers = [
            MP.Process(
                target=load_worker,
                args=(ingest_url, i, processes, vehicles, batch, self.commands[i], self.results),
                daemon=True,
            )
            for i in range(processes)
        ]
        for worker in self.workers:
            worker.start()

    def step(self, rate: int, seconds: float) -> tuple[Step, int, int]:
        """Offer ``rate`` points/s for ``seconds``; returns the step and the points acknowledged and the
        POSTs that failed."""
        start_at = time.time() + 5.0  # every worker has finished importing by then
        for commands in self.commands:
            commands.put((rate / len(self.commands), seconds, start_at))
        results = [self.results.get(timeout=seconds + 300) for _ in self.workers]
        return (
            Step(rate, start_at, start_at + seconds),
            sum(a for a, _ in results),
            sum(f for _, f in results),
        )

    def stop(self) -> None:
        for commands in self.commands:
            commands.put(None)
        for worker in self.workers:
            worker.join(30)
            if worker.is_alive():
                worker.terminate()


# -- probes, readers, live feed ----------------------------------------------------------------------------


@dataclass
class Probes:
    """Probe points: when each was acknowledged, when trips-api first showed it, when the feed did."""

    vehicles: list[str]
    acked: dict[tuple[str, int], float] = field(default_factory=dict)
    visible: dict[tuple[str, int], float] = field(default_factory=dict)
    pending: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    poll_cycles: list[float] = field(default_factory=list)

    def record_ack(self, vehicle: str, ts: int, at: float) -> None:
        with self.lock:
            self.acked[(vehicle, ts)] = at
            self.pending.setdefault(vehicle, []).append(ts)

    def snapshot(self) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
        """Copies of (acknowledged, visible), safe to read while the probe threads run."""
        with self.lock:
            return dict(self.acked), dict(self.visible)

    def oldest_pending(self) -> dict[str, int]:
        with self.lock:
            return {v: stamps[0] for v, stamps in self.pending.items() if stamps}

    def record_newest(self, vehicle: str, newest_ms: int, at: float) -> None:
        with self.lock:
            stamps = self.pending.get(vehicle, [])
            while stamps and stamps[0] <= newest_ms:
                self.visible[(vehicle, stamps.pop(0))] = at


def send_probes(ingest_url: str, probes: Probes, interval: float, stop: threading.Event) -> None:
    ingest = Ingest(ingest_url)
    last: dict[str, int] = {}
    n = 0
    min_lon, min_lat, max_lon, max_lat = PROBE_BOX
    while not stop.wait(interval):
        vehicle = probes.vehicles[n % len(probes.vehicles)]
        ts = max(time.time_ns() // 1_000_000, last.get(vehicle, 0) + 1)
        last[vehicle] = ts
        lon = min_lon + (n % 1000) * (max_lon - min_lon) / 1000
        lat = min_lat + (n % len(probes.vehicles)) * (max_lat - min_lat) / len(probes.vehicles)
        body = [{"vehicleID": vehicle, "path": [[lon, lat]], "timestamps": [ts]}]
        if ingest.post(body) == 202:
            probes.record_ack(vehicle, ts, time.time())
        n += 1


def poll_trajectories(api_url: str, probes: Probes, stop: threading.Event) -> None:
    import requests

    session = requests.Session()
    while not stop.is_set():
        wanted = probes.oldest_pending()
        if not wanted:
            stop.wait(0.02)
            continue
        cycle_start = time.monotonic()
        for vehicle, oldest in wanted.items():
            try:
                reply = session.get(
                    f"{api_url}/api/vehicles/{vehicle}/trajectory",
                    params={"start": oldest - 60_000, "end": time.time_ns() // 1_000_000 + 60_000},
                    timeout=30,
                )
            except requests.RequestException:
                continue
            if reply.status_code == 200:
                trips = reply.json().get("trips") or []
                if trips:
                    probes.record_newest(vehicle, max(t["end"] for t in trips), time.time())
        probes.poll_cycles.append(time.monotonic() - cycle_start)


def read_api(api_url: str, latencies: list[float], errors: list[int], stop: threading.Event) -> None:
    """A map user: latest positions and the trips in a box of the last 5 min, twice a second."""
    import requests

    session = requests.Session()
    while not stop.wait(0.5):
        now_ms = time.time_ns() // 1_000_000
        for path, params in (
            ("/api/vehicles/latest", {"limit": 500}),
            ("/api/trips", {"bbox": "-5,40,5,45", "start": now_ms - 300_000, "end": now_ms, "limit": 50}),
        ):
            started = time.monotonic()
            try:
                status = session.get(api_url + path, params=params, timeout=30).status_code
            except requests.RequestException:
                status = 0
            if status == 200:
                latencies.append(time.monotonic() - started)
            else:
                errors.append(status)


def live_feed_process(ws_url: str, prefix: str, out: mp.Queue, stop) -> None:
    """One map on the live feed (JSON frames, no viewport): when each probe point arrived."""
    from websockets.sync.client import connect

    frames = 0
    with connect(ws_url, open_timeout=30, max_size=None) as ws:
        while not stop.is_set():
            try:
                message = ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            arrived = time.time()
            frames += 1
            frame = orjson.loads(message)
            for point in frame.get("vehicles") or ():
                if point.get("vehicle_id", "").startswith(prefix):
                    out.put((point["vehicle_id"], int(point["ts"]), arrived))
    out.put(("frames", frames, 0.0))


# -- the run -----------------------------------------------------------------------------------------------


class BenchStack(LocalStack):
    """The e2e stack, with trips-api's per-address rate limit off (every reader here is 127.0.0.1) and
    the segmenter (added here when the stack does not start it itself)."""

    def services(self, dsn: str, jdbc_url: str) -> list:
        services = super().services(dsn, jdbc_url)
        for service in services:
            if service.name == "trips-api":
                service.env["API_RATE_PER_IP"] = "0"
        if not any(service.name == "segmenter" for service in services):
            port = free_port()
            services.append(
                Service(
                    "segmenter",
                    [sys.executable, "-m", "segmenter"],
                    ROOT / "services" / "segmenter",
                    {"DATABASE_URL": dsn, "HEALTH_HOST": "127.0.0.1", "HEALTH_PORT": str(port)},
                )
            )
        return services


def process_trees(stack: LocalStack) -> dict[str, psutil.Process]:
    trees = {name: psutil.Process(p.process.pid) for name, p in stack.processes.items() if p.process}
    if stack.kafka is not None and stack.kafka.process is not None:
        trees["kafka"] = psutil.Process(stack.kafka.process.pid)
    if (pid := _postmaster_pid(stack.postgres.data_dir)) is not None:
        trees["postgres"] = psutil.Process(pid)
    return trees


def cpu_seconds(trees: dict[str, psutil.Process]) -> dict[str, float]:
    totals = {}
    for name, proc in trees.items():
        total = 0.0
        try:
            members = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            members = []
        for member in members:
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system + times.children_user + times.children_system
        totals[name] = total
    return totals


def wait_ready(stack: LocalStack, probes: Probes, timeout: float) -> float:
    """Until a probe point is in trips-api's trajectory: every stage is up (the Flink job has no
    health endpoint; this is its readiness). Returns the seconds it took."""
    started = time.monotonic()
    stop = threading.Event()
    threads = [
        threading.Thread(target=send_probes, args=(stack.ingest_url, probes, 1.0, stop), daemon=True),
        threading.Thread(target=poll_trajectories, args=(stack.api_url, probes, stop), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        while not probes.visible:
            if dead := stack.failed():
                raise RuntimeError(f"{dead.argv} exited; log:\n{dead.log()}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"no probe point reached trips-api within {timeout:.0f} s")
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    return time.monotonic() - started


def collect_live(live_out: mp.Queue) -> tuple[dict[tuple[str, int], float], int]:
    arrived: dict[tuple[str, int], float] = {}
    frames = 0
    while True:
        try:
            vehicle, ts, at = live_out.get(timeout=5)
        except queue.Empty:
            return arrived, frames
        if vehicle == "frames":
            return arrived, ts
        arrived.setdefault((vehicle, ts), at)


def run(args: argparse.Namespace, work: Path) -> list[StepResult]:
    stack = BenchStack(work / "stack", Ports.free())
    results: list[StepResult] = []
    try:
        started = time.monotonic()
        stack.start()
        prefix = f"probe-{uuid.uuid4().hex[:6]}-"
        ready_probes = Probes([prefix + "ready"])
        ready_s = wait_ready(stack, ready_probes, args.start_timeout)
        print(
            f"stack up in {time.monotonic() - started:.0f} s (first probe point in trips-api after "
            f"{ready_s:.0f} s)",
            flush=True,
        )

        probes = Probes([f"{prefix}{n:02d}" for n in range(args.probe_vehicles)])
        stop = threading.Event()
        live_stop = MP.Event()
        live_out = MP.Queue()
        live = MP.Process(target=live_feed_process, args=(stack.ws_url, prefix, live_out, live_stop))
        live.start()
        read_latencies: list[float] = []
        read_errors: list[int] = []
        threads = [
            threading.Thread(
                target=send_probes, args=(stack.ingest_url, probes, args.probe_interval, stop), daemon=True
            ),
            threading.Thread(target=poll_trajectories, args=(stack.api_url, probes, stop), daemon=True),
            threading.Thread(
                target=read_api, args=(stack.api_url, read_latencies, read_errors, stop), daemon=True
            ),
        ]
        for thread in threads:
            thread.start()
        trees = process_trees(stack)
        load = LoadGenerator(stack.ingest_url, args.processes, args.vehicles, args.batch)
        if args.warmup > 0:
            _, warm_acked, _ = load.step(args.rates[0], args.warmup)
            print(f"  warm-up {args.rates[0]:,}/s: acked {warm_acked / args.warmup:,.0f}/s", flush=True)
        steps: list[tuple[Step, int, int, dict[str, float]]] = []

        def result(index: int) -> StepResult:
            """Step ``index`` judged on what the probes saw so far (live figures filled in at the end)."""
            step, acked, failed, _cpu = steps[index]
            window = (step.start + args.settle, step.end)
            return StepResult(step, acked, failed, step_probes(*probes.snapshot(), *window), [], 0)

        for rate in args.rates:
            cpu_before = cpu_seconds(trees)
            step, acked, failed = load.step(rate, args.step_seconds)
            cpu_after = cpu_seconds(trees)
            cpu = {k: (cpu_after[k] - cpu_before.get(k, 0.0)) / (step.end - step.start) for k in cpu_after}
            steps.append((step, acked, failed, cpu))
            acked_rate = acked / (step.end - step.start)
            line = f"  step {rate:>6,}/s: acked {acked_rate:>8,.0f}/s, failed posts {failed}"
            if len(steps) > 1:
                # the step before has had a whole step's time for its probes: its verdict is (nearly) final
                previous = result(-2)
                line += f"; step {previous.step.rate:,}/s: freshness p99 {fmt_s(previous.freshness_p99)}"
            print(line, flush=True)
            if dead := stack.failed():
                raise RuntimeError(f"{dead.argv} exited; log:\n{dead.log()}")
            if args.all_steps:
                continue
            # stop when http-ingest no longer takes the offered rate, or after two steps in a row that
            # missed the freshness target (one can be the warm-up's tail)
            missed_twice = len(steps) > 2 and not result(-2).sustained and not result(-3).sustained
            if result(-1).acked_rate < SUSTAINED_ACK_SHARE * rate or missed_twice:
                break
        load.stop()
        grace_end = time.monotonic() + args.grace
        last_end = steps[-1][0].end
        while time.monotonic() < grace_end:
            acked_at, visible_at = probes.snapshot()
            if all(key in visible_at for key, at in acked_at.items() if at < last_end):
                break
            time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(60)
        live_stop.set()
        arrived, frames = collect_live(live_out)
        live.join(30)

        for step, acked, failed, _cpu in steps:
            window = (step.start + args.settle, step.end)
            keys = [key for key, at in probes.acked.items() if window[0] <= at < window[1]]
            live_delays = [arrived[k] - probes.acked[k] for k in keys if k in arrived]
            results.append(
                StepResult(
                    step, acked, failed, step_probes(probes.acked, probes.visible, *window),
                    live_delays, len(keys) - len(live_delays),
                )
            )  # fmt: skip
        report(args, results, steps, probes, read_latencies, read_errors, frames)
        return results
    finally:
        stack.stop()


def report(args, results, steps, probes, read_latencies, read_errors, frames) -> None:
    print(
        f"\nWhole pipeline, every stage at once: {args.vehicles} load vehicles, batches of {args.batch} "
        f"points over {args.processes} processes, {args.step_seconds:.0f} s per step; "
        f"{len(probes.vehicles)} probe vehicles, one probe point every {args.probe_interval} s"
    )
    print(
        "freshness = probe POST 202 -> point in GET /api/vehicles/<id>/trajectory; "
        "live = probe POST 202 -> frame on ws-relay"
    )
    header = (
        f"{'offered/s':>10} {'acked/s':>9} {'fresh p50':>10} {'p99':>8} {'max':>8} {'seen':>9} "
        f"{'live p50':>9} {'live p99':>9} {'missed':>7}  sustained"
    )
    print(header)
    for r in results:
        seen = sum(f != float("inf") for f in r.freshness)
        print(
            f"{r.step.rate:>10,} {r.acked_rate:>9,.0f} {fmt_s(percentile(r.freshness, 50)):>10} "
            f"{fmt_s(r.freshness_p99):>8} {fmt_s(max(r.freshness, default=float('nan'))):>8} "
            f"{seen:>4}/{len(r.freshness):<4} {fmt_s(percentile(r.live, 50)):>9} "
            f"{fmt_s(percentile(r.live, 99)):>9} {r.live_missing:>7}  {'yes' if r.sustained else 'no'}"
        )
    top = max((r for r in results if r.sustained), key=lambda r: r.step.rate, default=None)
    cycles = probes.poll_cycles
    rows = [
        (
            "highest sustained rate",
            f"{top.step.rate:,} points/s offered, {top.acked_rate:,.0f}/s acknowledged" if top else "none",
        ),
        ("  freshness p99 there", fmt_s(top.freshness_p99) if top else "-"),
        ("  live feed p99 there", fmt_s(percentile(top.live, 99)) if top else "-"),
        ("trajectory poll cycle", f"p50 {percentile(cycles, 50):.3f} s, p99 {percentile(cycles, 99):.3f} s"),
        (
            "trips-api reads",
            f"{len(read_latencies)} ok (p50 {percentile(read_latencies, 50):.3f} s, "
            f"p99 {percentile(read_latencies, 99):.3f} s), {len(read_errors)} failed",
        ),
        ("live feed frames read", f"{frames:,}"),
    ]
    print_table("Pipeline summary", rows)
    if top is not None:
        cpu = next(c for s, _a, _f, c in steps if s == top.step)
        busy = sorted(cpu.items(), key=lambda kv: -kv[1])
        print("CPU (cores) per component at that step: " + ", ".join(f"{k} {v:.2f}" for k, v in busy))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1000, 2000, 4000, 8000, 12000, 16000],
        help="offered points/s of each step, comma-separated",
    )
    parser.add_argument("--step-seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds at the first rate, not reported")
    parser.add_argument("--settle", type=float, default=5.0, help="probes of each step's start left out")
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200, help="points per load POST")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--probe-vehicles", type=int, default=4)
    parser.add_argument("--probe-interval", type=float, default=0.25)
    parser.add_argument("--grace", type=float, default=30.0, help="wait for late probes after the last step")
    parser.add_argument("--start-timeout", type=float, default=900.0)
    parser.add_argument("--all-steps", action="store_true", help="do not stop at the first failing step")
    args = parser.parse_args()
    stop_on_sigterm()
    with bench_workdir("pipeline-bench-") as work:
        run(args, work)
        return 0


if __name__ == "__main__":
    sys.exit(main())
