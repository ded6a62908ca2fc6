"""Flink job benchmark: Kafka -> MobilityDB throughput and produce-to-row-visible latency.

Real servers on free ports (Apache Kafka, PostgreSQL + MobilityDB with the repository's sql/), the job
(services/flink-job/locations_job.py) on a local MiniCluster at parallelism 1:

1. throughput: N points already in locations_topic when the job starts; the sustained rate is the slope
   of the row count between 10 % and 90 % of N (JVM start and the tail left out);
2. latency: points produced at a fixed rate (default 2,000/s), each stamped with its produce time as
   event time; a poller reads each vehicle's newest stored instant every 20 ms; latency = first poll
   that sees the point - its produce time;
3. baseline, same run: the same N points written by psycopg2 COPY in batches of the job's flush size
   into the same table (same triggers), and the ratio.

    python bench/flink_bench.py [--points 300000] [--rate 2000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services/geostream"), str(ROOT / "scripts")]

from geostream.kafka import make_producer  # noqa: E402
from localservers import KafkaServer, cache_dir, free_port, stop_process  # noqa: E402
from localservers.postgres import PostgresServer  # noqa: E402

JOB_DIR = ROOT / "services" / "flink-job"
FLUSH_ROWS = 5000
COLUMNS = ("vehicle_id", "ts", "lon", "lat", "speed", "heading", "source")


def make_points(prefix: str, count: int, vehicles: int, base_ms: int) -> list[dict]:
    """Round-robin over vehicles (as live traffic arrives), each vehicle moving forward in time."""
    points = []
    for i in range(count):
        v, step = i % vehicles, i // vehicles
        points.append(
            {
                "vehicle_id": f"{prefix}{v:05d}",
                "ts": base_ms + step * 1000 + v,
                "lon": round(-10 + (v % 100) * 0.2 + step * 1e-4, 6),
                "lat": round(40 + (v // 100) * 0.2 + step * 5e-5, 6),
                "speed": 12.5,
                "heading": 45.0,
                "source": "simulator",
            }
        )
    return points


def produce_all(brokers: str, points: list[dict]) -> float:
    producer = make_producer(brokers, client_id="flink-bench")
    start = time.perf_counter()
    for point in points:
        while True:
            try:
                producer.produce("locations_topic", key=point["vehicle_id"], value=orjson.dumps(point))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    return len(points) / (time.perf_counter() - start)


def count_rows(conn, prefix: str) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM vehicle_points WHERE vehicle_id LIKE %s", (prefix + "%",))
        return cur.fetchone()[0]


def start_job(flink_python: Path, kafka: KafkaServer, pg: PostgresServer, log_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "services/geostream"),
        "KAFKA_BROKERS": kafka.bootstrap,
        "KAFKA_GROUP_ID": "flink-bench",
        "JDBC_URL": pg.jdbc_url,
        "JDBC_USERNAME": pg.user,
        "JDBC_PASSWORD": pg.password,
        "JDBC_FLUSH_MAX_ROWS": str(FLUSH_ROWS),
        "FLINK_PARALLELISM": "1",
        "FLINK_LOG_DIR": str(log_dir / "flink"),
    }
    log = open(log_dir / "job.log", "ab")  # noqa: SIM115 (kept open for the child's lifetime)
    process = subprocess.Popen(
        [str(flink_python), "locations_job.py"],
        cwd=JOB_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return process


def wait_rows(
    conn, prefix: str, target: int, job: subprocess.Popen, timeout: float
) -> list[tuple[float, int]]:
    """Poll the row count until ``target``; returns the (time, count) samples."""
    samples = []
    deadline = time.monotonic() + timeout
    while True:
        n = count_rows(conn, prefix)
        samples.append((time.monotonic(), n))
        if n >= target:
            return samples
        if job.poll() is not None:
            raise RuntimeError(f"the job exited with {job.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{n} of {target} rows after {timeout:.0f} s")
        time.sleep(0.25)


def sustained_rate(samples: list[tuple[float, int]], total: int) -> float:
    low = next(s for s in samples if s[1] >= 0.1 * total)
    high = next(s for s in samples if s[1] >= 0.9 * total)
    return (high[1] - low[1]) / (high[0] - low[0])


def latency_run(brokers: str, pg: PostgresServer, rate: int, seconds: float, vehicles: int) -> list[float]:
    names = [f"lat-{v:04d}" for v in range(vehicles)]
    produced: list[tuple[str, int]] = []
    done = threading.Event()

    def producer_loop() -> None:
        producer = make_producer(brokers, client_id="flink-bench-latency", **{"linger.ms": 1})
        start = time.monotonic()
        total = int(rate * seconds)
        for i in range(total):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            vehicle = names[i % vehicles]
            ts = time.time_ns() // 1_000_000
            point = {
                "vehicle_id": vehicle,
                "ts": ts,
                "lon": 5.0 + i * 1e-6,
                "lat": 45.0,
                "source": "simulator",
            }
            producer.produce("locations_topic", key=vehicle, value=orjson.dumps(point))
            producer.poll(0)
            produced.append((vehicle, ts))
        producer.flush(30)
        done.set()

    seen_at: dict[str, list[tuple[int, float]]] = {v: [] for v in names}
    conn = pg.connect()
    thread = threading.Thread(target=producer_loop)
    thread.start()
    last: dict[str, int] = {}
    quiet_since = None
    with conn.cursor() as cur:
        while True:
            cur.execute(
                """SELECT v, (SELECT (extract(epoch FROM max(ts)) * 1000)::bigint
                              FROM vehicle_points WHERE vehicle_id = v)
                   FROM unnest(%s::text[]) AS v""",
                (names,),
            )
            now_ms = time.time_ns() / 1_000_000
            for vehicle, newest in cur.fetchall():
                if newest is not None and newest != last.get(vehicle):
                    last[vehicle] = newest
                    seen_at[vehicle].append((newest, now_ms))
            if done.is_set():
                expected_last = {v: ts for v, ts in produced}
                if all(last.get(v) == ts for v, ts in expected_last.items()):
                    break
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 60:
                    raise TimeoutError("points still missing 60 s after the producer stopped")
            time.sleep(0.02)
    thread.join()
    conn.close()
    latencies = []
    for vehicle, ts in produced:
        # Each vehicle's points arrive in order, so a point is visible once its vehicle's newest
        # stored instant has reached it.
        first = next(seen for newest, seen in seen_at[vehicle] if newest >= ts)
        latencies.append((first - ts) / 1000)
    return latencies


def copy_baseline(pg: PostgresServer, points: list[dict]) -> float:
    conn = pg.connect()
    start = time.perf_counter()
    with conn.cursor() as cur:
        for offset in range(0, len(points), FLUSH_ROWS):
            buffer = io.StringIO()
            for p in points[offset : offset + FLUSH_ROWS]:
                ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(p["ts"] // 1000))
                buffer.write(
                    f"{p['vehicle_id']}\t{ts}.{p['ts'] % 1000:03d}+00\t{p['lon']}\t{p['lat']}\t"
                    f"{p['speed']}\t{p['heading']}\t{p['source']}\n"
                )
            buffer.seek(0)
            cur.copy_expert(f"COPY vehicle_points ({', '.join(COLUMNS)}) FROM STDIN", buffer)
    elapsed = time.perf_counter() - start
    conn.close()
    return len(points) / elapsed


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=300_000)
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=2000, help="points/s in the latency run")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the latency run")
    args = parser.parse_args()

    subprocess.run([str(JOB_DIR / "install-local.sh")], check=True)
    flink_python = cache_dir() / "flink-venv" / "bin" / "python"
    work = Path(tempfile.mkdtemp(prefix="flink-bench-"))
    kafka = KafkaServer(work / "kafka").start()
    pg = PostgresServer(work / "postgres", port=free_port())
    job = None
    finished = False
    try:
        pg.start()
        base_ms = (int(time.time()) - 4 * 3600) * 1000
        points = make_points("tp-", args.points, args.vehicles, base_ms)
        produce_rate = produce_all(kafka.bootstrap, points)
        print(f"produced {len(points):,} points to locations_topic ({produce_rate:,.0f}/s)", flush=True)

        conn = pg.connect()
        started = time.monotonic()
        job = start_job(flink_python, kafka, pg, work)
        samples = wait_rows(conn, "tp-", len(points), job, timeout=900)
        first_row = next(t for t, n in samples if n > 0)
        flink_rate = sustained_rate(samples, len(points))
        print(
            f"flink: first row {first_row - started:.0f} s after start (JVM + planning), "
            f"all {len(points):,} rows after {samples[-1][0] - started:.0f} s",
            flush=True,
        )

        latencies = latency_run(kafka.bootstrap, pg, args.rate, args.seconds, vehicles=200)

        copy_points = make_points("cp-", args.points, args.vehicles, base_ms)
        copy_rate = copy_baseline(pg, copy_points)
        assert count_rows(conn, "cp-") == len(copy_points)
        conn.close()

        print()
        print(f"Kafka -> MobilityDB, parallelism 1, {len(points):,} points, {args.vehicles} vehicles")
        print(f"  flink job sustained        {flink_rate:>10,.0f} points/s   (target >= 10,000)")
        print(f"  psycopg2 COPY baseline     {copy_rate:>10,.0f} points/s   (batches of {FLUSH_ROWS})")
        print(f"  ratio flink / COPY         {flink_rate / copy_rate:>10.2f}")
        print(f"produce -> row visible, {args.rate:,} points/s for {args.seconds:.0f} s ({len(latencies):,})")
        print(
            f"  p50 {statistics.median(latencies):.3f} s   p95 {pct(latencies, 95):.3f} s   "
            f"p99 {pct(latencies, 99):.3f} s   max {max(latencies):.3f} s   (target p99 < 2 s)"
        )
        finished = True
        return 0
    finally:
        stop_process(job, timeout=60)
        pg.destroy()
        kafka.stop()
        if finished:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs kept in {work}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
