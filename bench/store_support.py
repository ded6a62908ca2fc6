"""What the trajectory-store benchmarks share: bench points, COPY, the plain baseline table, preloading,
the segmenter (sql/README.md; /health and queue in services/segmenter)."""

from __future__ import annotations

import io
import math
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from common import ROOT
from support.processes import ServiceProcess

from geostream.kafka import make_producer
from localservers import free_port

COLUMNS = ("vehicle_id", "ts", "lon", "lat", "speed", "heading", "source")
PLAIN_TABLE = "bench_plain_points"


# -- points (pure) -----------------------------------------------------------------------------------------


def bench_point(prefix: str, vehicle: int, step: int, base_ms: int, interval_ms: int = 1000) -> dict:
    """Point ``step`` of vehicle ``vehicle``: one every ``interval_ms`` (+ the vehicle number in ms, so
    vehicles do not share instants), moving slowly north-east from its own start."""
    return {
        "vehicle_id": f"{prefix}{vehicle:05d}",
        "ts": base_ms + step * interval_ms + vehicle,
        "lon": round(-10 + (vehicle % 100) * 0.2 + step * 1e-4, 6),
        "lat": round(40 + (vehicle // 100 % 200) * 0.2 + step * 5e-5, 6),
        "speed": 12.5,
        "heading": 45.0,
        "source": "simulator",
    }


def round_robin_points(prefix: str, count: int, vehicles: int, base_ms: int, interval_ms: int = 1000) -> list:
    """``count`` points in arrival order, round-robin over vehicles (as live traffic arrives)."""
    return [bench_point(prefix, i % vehicles, i // vehicles, base_ms, interval_ms) for i in range(count)]


def produce_points(brokers: str, topic: str, points: list[dict], client_id: str) -> float:
    """Every point to ``topic``, keyed by vehicle id; waits for delivery. Returns points/s."""

    producer = make_producer(brokers, client_id=client_id)
    start = time.perf_counter()
    for point in points:
        while True:
            try:
                producer.produce(topic, key=point["vehicle_id"], value=orjson.dumps(point))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(120)
    return len(points) / (time.perf_counter() - start)


def copy_line(point: dict) -> str:
    ts = datetime.fromtimestamp(point["ts"] / 1000, UTC).isoformat(timespec="milliseconds")
    return (
        f"{point['vehicle_id']}\t{ts}\t{point['lon']}\t{point['lat']}\t{point['speed']}\t"
        f"{point['heading']}\t{point['source']}\n"
    )


def copy_buffers(points: list[dict], batch: int) -> list[str]:
    """The COPY text of each batch, rendered before any timing: the figure is the database's."""
    return ["".join(copy_line(p) for p in points[i : i + batch]) for i in range(0, len(points), batch)]


def day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


# -- database ----------------------------------------------------------------------------------------------


def copy_batches(conn, table: str, buffers: list[str]) -> float:
    """COPY each buffer in its own transaction (like the sink's flushes); returns the seconds taken."""
    autocommit = conn.autocommit
    conn.autocommit = False
    start = time.perf_counter()
    with conn.cursor() as cur:
        for text in buffers:
            cur.copy_expert(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN", io.StringIO(text))
            conn.commit()
    elapsed = time.perf_counter() - start
    conn.autocommit = autocommit
    return elapsed


def create_plain_table(conn) -> None:
    """vehicle_points' columns and primary key, nothing else: no partitions, triggers or other index
    (the physical limit of landing points here)."""
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        cur.execute(f"CREATE TABLE {PLAIN_TABLE} (LIKE vehicle_points INCLUDING DEFAULTS)")
        cur.execute(f"ALTER TABLE {PLAIN_TABLE} ADD PRIMARY KEY (vehicle_id, ts)")


def truncate_plain_table(conn) -> None:
    with conn.cursor() as cur:
        cur.execute(f"TRUNCATE {PLAIN_TABLE}")


def scalar(conn, sql: str, params: tuple = ()):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def ensure_partitions(conn, first: datetime, last: datetime) -> None:
    scalar(conn, "SELECT ensure_partitions(%s::date, %s::date)", (first.date(), last.date()))


def partition_of(conn, day: datetime) -> str:
    """The name of vehicle_points' partition that holds ``day`` (created if missing)."""
    ensure_partitions(conn, day, day)
    name = f"vehicle_points_p{day:%Y%m%d}"
    if scalar(conn, "SELECT to_regclass(%s)", (name,)) is None:
        raise RuntimeError(f"no partition {name}: sql/ should create it with ensure_partitions()")
    return name


def preload(conn, prefix: str, vehicles: int, points: int, end: datetime) -> tuple[float, datetime, int]:
    """``points`` points for ``vehicles`` vehicles (one a second each, or sparser when that does not fit in
    a day), ending before ``end`` on the same UTC day, written by one INSERT ... SELECT generate_series
    straight into that day's partition (no trigger fires there: nothing is marked dirty), in primary key
    order (each index page is filled once). Returns the
    seconds taken, the first point's time and the interval between a vehicle's points (ms)."""
    per_vehicle = math.ceil(points / vehicles)
    end = end - timedelta(minutes=5)
    seconds_left = (end - day_start(end)).total_seconds()
    interval_ms = 1000 * max(1, math.ceil(per_vehicle / seconds_left))
    first = end - timedelta(milliseconds=per_vehicle * interval_ms)
    if first < day_start(end):
        raise ValueError(f"{points:,} points for {vehicles} vehicles do not fit in one day: more vehicles")
    table = partition_of(conn, first)
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(
            f"""INSERT INTO {table} (vehicle_id, ts, lon, lat, speed, heading, source)
                SELECT %(prefix)s || lpad(v::text, 5, '0'),
                       %(first)s + (s * %(interval)s + v) * interval '1 millisecond',
                       -10 + (v %% 100) * 0.2 + s * 1e-4, 40 + (v / 100 %% 200) * 0.2 + s * 5e-5,
                       12.5, 45.0, 'simulator'
                FROM generate_series(0, %(vehicles)s - 1) AS v
                CROSS JOIN LATERAL generate_series(0, %(steps)s - 1) AS s
                WHERE s * %(vehicles)s + v < %(points)s""",
            {
                "prefix": prefix,
                "first": first,
                "interval": interval_ms,
                "steps": per_vehicle,
                "vehicles": vehicles,
                "points": points,
            },
        )
    return time.perf_counter() - started, first, interval_ms


def vacuum_analyze(conn) -> float:
    """VACUUM (ANALYZE) the points and segments (``conn`` in autocommit), as a store's history is. Without
    the VACUUM, the preload's millions of inserted rows start an autovacuum of their partition within a
    minute, at a moment that varies from run to run: when it fell in a measured window it took most of a
    core (the landing cost came out 1.36-1.42x the empty store's in two runs of four, 0.96-1.05x in the
    others)."""
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) vehicle_points")
        cur.execute("VACUUM (ANALYZE) vehicle_trajectory_segments")
    return time.perf_counter() - started


def queue_depth(conn) -> int:
    return scalar(conn, "SELECT queued FROM trajectory_queue_status()")


def wait_caught_up(conn, timeout: float, segmenter: ServiceProcess | None = None) -> float:
    """Until the segmenter's queue is empty (every committed point is in segments); returns seconds."""
    started = time.monotonic()
    while queue_depth(conn) > 0:
        if segmenter is not None and segmenter.process.poll() is not None:
            raise RuntimeError(f"the segmenter exited; log:\n{segmenter.log()}")
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"segmenter queue not empty after {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - started


def start_segmenter(dsn: str, log_path: Path, **env: str) -> ServiceProcess:
    """The segmenter service (services/segmenter) against ``dsn``; waits for its /health."""
    port = free_port()
    process = ServiceProcess(
        [sys.executable, "-m", "segmenter"],
        {"DATABASE_URL": dsn, "HEALTH_HOST": "127.0.0.1", "HEALTH_PORT": str(port), **env},
        ROOT / "services" / "segmenter",
        log_path,
    ).start()
    process.wait_healthy(f"http://127.0.0.1:{port}/health", timeout=120, accept=(200, 503))
    return process
