"""Write throughput into vehicle_points (partitioned, with its dirty-log triggers) against plain baselines.

    python bench/sql_bench.py \
        [--points N] [--dsn DSN]

Without --dsn it starts a private PostgresServer (MobilityDB) on a free port and removes it after.
Prints points/s; asserts nothing (a benchmark, not a test). Each batch is one transaction of 1000
rows, like the Flink JDBC sink. "upsert x1000": one multi-row INSERT ... ON CONFLICT DO UPDATE per
batch (execute_values style, pre-rendered); "upsert x128": the batch as statements of at most 128
rows, as pgjdbc's reWriteBatchedInserts sends it (128, ..., 64, 32, 8); "arrays x1000": the same
upsert fed by one array literal per column (unnest), which costs next to nothing to parse, like
bound parameters; "no triggers": the same with the dirty-log triggers disabled (their share);
"skip-unchanged": the arrays with ``WHERE (target.cols) IS DISTINCT FROM (excluded.cols)`` (the
geostream-points sink's statement when a key of the batch is stored); "COPY, vehicle_points": what the
sink sends first (a batch of new keys), triggers included; "replay": the same batches again (all
conflicts, nothing changes), as plain upserts and skipping unchanged rows. After the last run
of each scenario, ``segmenter_catch_up()`` builds the trajectories the writes left to the segmenter, timed
(the work the old synchronous triggers did inside the writer's transaction).
"""

from __future__ import annotations

import argparse
import io
import math
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import common  # noqa: F401  (puts scripts/ and services/ on sys.path)
import psycopg2

COLUMNS = "vehicle_id, ts, lon, lat, speed, heading, alt, accuracy, battery, source"
UPDATED = "lon, lat, speed, heading, alt, accuracy, battery, source"
UPSERT = (
    f"INSERT INTO {{table}} AS target ({COLUMNS}) VALUES %s ON CONFLICT (vehicle_id, ts) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in UPDATED.split(", "))
)
# What the geostream-points sink sends since issue 13's replay change: a row that would not change is
# not written (no new row version, nothing in the update trigger's transition tables).
SKIP_UNCHANGED = (
    " WHERE ("
    + ", ".join(f"target.{c}" for c in UPDATED.split(", "))
    + ") IS DISTINCT FROM ("
    + ", ".join(f"excluded.{c}" for c in UPDATED.split(", "))
    + ")"
)
POINT_TRIGGERS = (
    "vehicle_points_trajectory_insert",
    "vehicle_points_trajectory_update",
    "vehicle_points_trajectory_delete",
)
BATCH = 1000
T0 = datetime(2024, 5, 1, tzinfo=UTC)


def make_points(vehicles: int, per_vehicle: int, interval_s: float, late_share: float, seed: int = 7) -> list:
    """Points in arrival order, round-robin over vehicles (like a keyed Kafka topic); late_share of
    them arrive 15 minutes (of event time) after they were taken."""
    rng = random.Random(seed)
    arrivals = []
    for step in range(per_vehicle):
        for v in range(vehicles):
            angle = (step * 0.05 + v) % (2 * math.pi)
            lon = 2.0 + (v % 100) * 0.01 + 0.01 * math.cos(angle) + rng.uniform(-1e-4, 1e-4)
            lat = 48.0 + (v // 100) * 0.01 + 0.01 * math.sin(angle) + rng.uniform(-1e-4, 1e-4)
            event = step * interval_s + v * 0.001
            arrival = event + (900.0 if rng.random() < late_share else 0.0)
            row = (f"veh-{v:05d}", T0 + timedelta(seconds=event), lon, lat, 12.5, 90.0, 35.0, 5.0, 80.0)
            arrivals.append((arrival, (*row, "simulator")))
    arrivals.sort(key=lambda item: item[0])
    return [row for _, row in arrivals]


def batches(rows: list) -> list[list]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def statements(conn, table: str, rows: list, statement_rows: int) -> list[list[bytes]]:
    """The SQL of every batch, rendered before timing so that the figures measure the database,
    not psycopg2's parameter adaptation (a JDBC writer sends binds; its client cost is small)."""
    head, tail = UPSERT.format(table=table).encode().split(b"%s")
    placeholder = "(" + ",".join(["%s"] * 10) + ")"
    rendered = []
    with conn.cursor() as cur:
        for batch in batches(rows):
            chunks, offset = [], 0
            while offset < len(batch):
                # pgjdbc's rewrite: blocks of a power of two rows, at most 128
                size = (
                    len(batch)
                    if statement_rows >= BATCH
                    else min(128, 1 << (len(batch) - offset).bit_length() - 1)
                )
                values = b",".join(cur.mogrify(placeholder, r) for r in batch[offset : offset + size])
                chunks.append(head + values + tail)
                offset += size
            rendered.append(chunks)
    return rendered


def array_statements(conn, table: str, rows: list, skip_unchanged: bool = False) -> list[list[bytes]]:
    """One statement per batch with one array literal per column (INSERT ... SELECT FROM unnest):
    parsed in no time, like a prepared statement's binds, so the figure isolates the server's work."""
    select = (
        "SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::float8[], %s::float8[], %s::float8[], "
        "%s::float8[], %s::float8[], %s::float8[], %s::float8[], %s::text[])"
    )
    sql = UPSERT.format(table=table).replace("VALUES %s", select) + (SKIP_UNCHANGED if skip_unchanged else "")

    def literal(values: list) -> str:
        return "{" + ",".join("NULL" if v is None else f'"{v}"' for v in values) + "}"

    with conn.cursor() as cur:
        return [
            [cur.mogrify(sql, [literal(list(col)) for col in zip(*batch, strict=True)])]
            for batch in batches(rows)
        ]


def run_upsert(conn, table: str, rows: list, statement_rows: int, skip_unchanged: bool = False) -> float:
    if statement_rows == 0:
        rendered = array_statements(conn, table, rows, skip_unchanged)
    else:
        rendered = statements(conn, table, rows, statement_rows)
    start = time.perf_counter()
    with conn.cursor() as cur:
        for chunks in rendered:
            for chunk in chunks:
                cur.execute(chunk)
            conn.commit()
    return time.perf_counter() - start


def run_copy(conn, table: str, rows: list) -> float:
    buffers = ["".join("\t".join(str(x) for x in r) + "\n" for r in batch) for batch in batches(rows)]
    start = time.perf_counter()
    with conn.cursor() as cur:
        for text in buffers:
            cur.copy_expert(f"COPY {table} ({COLUMNS}) FROM STDIN", io.StringIO(text))
            conn.commit()
    return time.perf_counter() - start


def set_point_triggers(conn, enabled: bool) -> None:
    """The dirty-log triggers on or off (off: what the upsert costs without them; ALTER TABLE on the
    partitioned table reaches every partition)."""
    action = "ENABLE" if enabled else "DISABLE"
    with conn.cursor() as cur:
        for trigger in POINT_TRIGGERS:
            cur.execute(f"ALTER TABLE vehicle_points {action} TRIGGER {trigger}")
    conn.commit()


def reset(conn) -> None:
    with conn.cursor() as cur:
        # day partitions around T0 (the points would otherwise land in the default partition)
        cur.execute("SELECT ensure_partitions(%s::date - 1, %s::date + 2)", (T0, T0))
        cur.execute("TRUNCATE vehicle_points")  # its trigger empties segments, state and the dirty log
        cur.execute("DROP TABLE IF EXISTS bench_plain_points")
        # the columns and primary key only: no partitions, no triggers
        cur.execute("CREATE TABLE bench_plain_points (LIKE vehicle_points INCLUDING DEFAULTS)")
        cur.execute("ALTER TABLE bench_plain_points ADD PRIMARY KEY (vehicle_id, ts)")
    conn.commit()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "VACUUM ANALYZE vehicle_points, vehicle_state, vehicle_trajectory_segments, trajectory_dirty"
        )
    conn.autocommit = False


def check(conn, rows: list) -> str:
    """What the last run stored, then the segmenter's catch-up over it (timed)."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM vehicle_points")
        stored = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM trajectory_dirty")
        queued = cur.fetchone()[0]
        started = time.perf_counter()
        cur.execute("SELECT segmenter_catch_up()")
        built = cur.fetchone()[0]
        seconds = time.perf_counter() - started
        cur.execute("SELECT count(*) FROM vehicle_trajectory_segments")
        segments = cur.fetchone()[0]
    conn.commit()
    return (
        f"rows={stored} dirty_log={queued}; segmenter_catch_up built {built} segments in {seconds:.2f} s "
        f"({len(rows) / seconds:,.0f} points/s); segments={segments}"
    )


def bench(dsn: str, points: int, repeat: int) -> None:
    conn = psycopg2.connect(dsn)
    scenarios = [
        ("few vehicles (5 x 1 Hz)", dict(vehicles=5, interval_s=1.0, late_share=0.0)),
        ("many vehicles (2000 x 1/min)", dict(vehicles=2000, interval_s=60.0, late_share=0.0)),
        ("few vehicles, 5% 15 min late", dict(vehicles=5, interval_s=1.0, late_share=0.05)),
    ]
    # (label, table, rows per statement: None COPY, 0 arrays; skip unchanged rows; triggers on)
    variants = [
        ("COPY, plain table", "bench_plain_points", None, False, True),
        ("COPY, vehicle_points", "vehicle_points", None, False, True),
        ("upsert x1000, plain table", "bench_plain_points", BATCH, False, True),
        ("upsert x1000, vehicle_points", "vehicle_points", BATCH, False, True),
        ("upsert x128, vehicle_points", "vehicle_points", 128, False, True),
        ("arrays x1000, plain table", "bench_plain_points", 0, False, True),
        ("arrays x1000, vp, no triggers", "vehicle_points", 0, False, False),
        ("arrays x1000, vehicle_points", "vehicle_points", 0, False, True),
        ("arrays x1000 skip-unchanged, vp", "vehicle_points", 0, True, True),
    ]
    print(f"{points} points per scenario, batches of {BATCH} rows, one transaction per batch; "
          f"best and median of {repeat} runs")  # fmt: skip
    for name, spec in scenarios:
        vehicles = spec["vehicles"]
        rows = make_points(vehicles, points // vehicles, spec["interval_s"], spec["late_share"])
        results: dict[str, list[float]] = {}
        for _ in range(repeat):
            for label, table, statement_rows, skip_unchanged, triggers in variants:
                reset(conn)
                if not triggers:
                    set_point_triggers(conn, False)
                try:
                    if statement_rows is None:
                        seconds = run_copy(conn, table, rows)
                    else:
                        seconds = run_upsert(conn, table, rows, statement_rows, skip_unchanged)
                finally:
                    if not triggers:
                        set_point_triggers(conn, True)
                results.setdefault(label, []).append(seconds)
            # Replays of the last variant's rows (every row conflicts, nothing changes): as the JDBC
            # connector and the sink before the change sent them (every row rewritten), and the sink's
            # statement now (unchanged rows skipped).
            results.setdefault("replay x1000, vehicle_points", []).append(
                run_upsert(conn, "vehicle_points", rows, BATCH)
            )
            results.setdefault("replay arrays skip-unchanged, vp", []).append(
                run_upsert(conn, "vehicle_points", rows, 0, skip_unchanged=True)
            )
        print(f"\n{name}: {len(rows)} points; after the last run: {check(conn, rows)}")
        for label, runs in results.items():
            rates = sorted(len(rows) / seconds for seconds in runs)
            print(f"  {label:32s} best {rates[-1]:9,.0f}  median {statistics.median(rates):9,.0f} points/s")
    reset(conn)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_plain_points")
        cur.execute("TRUNCATE vehicle_points")
    conn.commit()
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dsn", help="a database with sql/ applied (its vehicle_points is emptied)")
    args = parser.parse_args()
    if args.dsn:
        bench(args.dsn, args.points, args.repeat)
        return 0
    from localservers import free_port
    from localservers.postgres import PostgresServer

    with tempfile.TemporaryDirectory(prefix="geostream-bench-") as tmp:
        server = PostgresServer(Path(tmp), port=free_port())
        try:
            server.start()
            bench(server.dsn, args.points, args.repeat)
        finally:
            server.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
