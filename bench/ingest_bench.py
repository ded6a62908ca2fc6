"""Sustained points/s through POST /ingest/location against the raw producer rate, in the same run.

    python bench/ingest_bench.py [--seconds 15] [--clients 6] [--workers 4] [--batch 500]

Both sides use the same Kafka client and producer settings (acks=all, idempotence, lz4, murmur2) against
the same local broker; only the ratio is meaningful on a shared machine.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import orjson
from common import percentile, print_table, tree_cpu_seconds, tree_rss_mb
from support.processes import gunicorn_http_ingest

from geostream.kafka import make_producer
from localservers import KafkaServer, free_port

T0 = 1_700_000_000


def make_body(client: int, n: int, batch: int) -> bytes:
    vehicles = 10
    per_vehicle = batch // vehicles
    return orjson.dumps(
        [
            {
                "vehicleID": f"bench-{client}-{v}",
                "path": [[2.0 + i * 1e-4, 48.0 + v * 1e-3] for i in range(per_vehicle)],
                "timestamps": [T0 + n * per_vehicle + i for i in range(per_vehicle)],
            }
            for v in range(vehicles)
        ]
    )


def raw_producer_rate(brokers: str, seconds: float, batch: int, encode: bool) -> float:
    """Points/s of one process producing points for ``seconds``, then flushing (every point acknowledged).

    ``encode``: build and JSON-encode each point as it is sent (what any Python producer of the contract
    pays); otherwise re-send pre-encoded bytes (librdkafka's own ceiling).
    """
    producer = make_producer(brokers, client_id="bench-raw")
    points = [
        {
            "vehicle_id": f"raw-{i % 10}",
            "ts": (T0 + i) * 1000,
            "lon": 2.0 + i * 1e-5,
            "lat": 48.0,
            "source": "http",
        }
        for i in range(batch)
    ]
    encoded = [(p["vehicle_id"].encode(), orjson.dumps(p)) for p in points]
    start = time.perf_counter()
    deadline = start + seconds
    sent = 0
    while time.perf_counter() < deadline:
        records = ((p["vehicle_id"].encode(), orjson.dumps(dict(p))) for p in points) if encode else encoded
        for key, value in records:
            while True:
                try:
                    producer.produce("locations_topic", value, key)
                    break
                except BufferError:
                    producer.poll(0.01)
        producer.poll(0)
        sent += batch
    producer.flush(60)
    return sent / (time.perf_counter() - start)


def client(port: int, client_id: int, batch: int, seconds: float, out: mp.Queue) -> None:
    bodies = [make_body(client_id, n, batch) for n in range(20)]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, points, errors = [], 0, 0
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        start = time.perf_counter()
        conn.request(
            "POST", "/ingest/location", bodies[n % len(bodies)], {"Content-Type": "application/json"}
        )
        reply = conn.getresponse()
        data = reply.read()
        latencies.append(time.perf_counter() - start)
        if reply.status == 202:
            points += orjson.loads(data)["sent"]
        else:
            errors += 1
        n += 1
    out.put((points, latencies, errors))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (compose default: 2)")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    kafka = KafkaServer(work / "kafka").start()
    port = free_port()
    service = gunicorn_http_ingest(
        port, kafka.bootstrap, work / "ingest.log", WEB_CONCURRENCY=str(args.workers)
    )
    try:
        half = args.seconds / 2
        raw_before = raw_producer_rate(kafka.bootstrap, half, args.batch, encode=True)
        bytes_before = raw_producer_rate(kafka.bootstrap, half, args.batch, encode=False)
        service.start()
        service.wait_healthy(f"http://127.0.0.1:{port}/health")
        make_client = lambda seconds, q: [  # noqa: E731
            mp.Process(target=client, args=(port, c, args.batch, seconds, q)) for c in range(args.clients)
        ]
        warm = mp.Queue()
        for p in (procs := make_client(2, warm)):
            p.start()
        for p in procs:
            p.join()
        queue: mp.Queue = mp.Queue()
        procs = make_client(args.seconds, queue)
        start = time.perf_counter()
        cpu_before = tree_cpu_seconds(service.process.pid), tree_cpu_seconds(kafka.process.pid)
        for p in procs:
            p.start()
        rss_samples = []
        while any(p.is_alive() for p in procs):
            rss_samples.append(tree_rss_mb(service.process.pid))
            time.sleep(0.5)
        results = [queue.get() for _ in procs]
        elapsed = time.perf_counter() - start
        service_cpu = tree_cpu_seconds(service.process.pid) - cpu_before[0]
        broker_cpu = tree_cpu_seconds(kafka.process.pid) - cpu_before[1]
        # The baseline before and after the service run; the higher one, so the ratio is not flattered.
        raw = max(raw_before, raw_producer_rate(kafka.bootstrap, half, args.batch, encode=True))
        raw_bytes = max(bytes_before, raw_producer_rate(kafka.bootstrap, half, args.batch, encode=False))
        points = sum(r[0] for r in results)
        latencies = [lat for r in results for lat in r[1]]
        errors = sum(r[2] for r in results)
        rate = points / elapsed
        print_table(
            f"http-ingest: {args.clients} clients, {args.batch}-point batches, {args.workers} workers",
            [
                (
                    "raw producer, encoding each point",
                    f"{raw:,.0f} points/s (1 process; best of before/after)",
                ),
                ("raw producer, pre-encoded bytes", f"{raw_bytes:,.0f} points/s (librdkafka's ceiling)"),
                (
                    "through POST /ingest/location",
                    f"{rate:,.0f} points/s ({points:,} points in {elapsed:.1f} s)",
                ),
                (
                    "ratio service / raw (encoding)",
                    f"{rate / raw:.0%}  (/ pre-encoded: {rate / raw_bytes:.0%})",
                ),
                ("requests", f"{len(latencies):,} ({errors} non-202)"),
                (
                    "latency p50 / p99",
                    f"{percentile(latencies, 50) * 1000:.1f} ms / {percentile(latencies, 99) * 1000:.1f} ms",
                ),
                ("service memory (master + workers)", f"{max(rss_samples):.0f} MB peak RSS"),
                (
                    "CPU per 100k points: service / broker",
                    f"{service_cpu / points * 1e5:.2f} s / {broker_cpu / points * 1e5:.2f} s",
                ),
                ("target", ">= 50,000 points/s and >= 50% of raw"),
            ],
        )
    finally:
        service.stop()
        kafka.stop()


if __name__ == "__main__":
    main()
