"""Segment building: the segmenter against one set-based statement that builds the same trajectories.

    python bench/segment_bench.py [--vehicles 1000] [--buckets 6] [--interval 10] [--late-share 0.05]

A private PostgreSQL + MobilityDB (sql/ applied) on a free port. Each of ``--vehicles`` vehicles sends a
point every ``--interval`` s for ``--buckets`` trajectory buckets (trajectory_settings.bucket_width, 10 min),
and ``--late-share`` of the points arrive 10 to 30 min (event time) late, into buckets already closed:

1. baseline, same run: one INSERT ... SELECT ... GROUP BY vehicle, bucket with MobilityDB's appendInstant
   aggregate (a new sequence after max_gap) over the in-time points, into an unindexed scratch table:
   what building these sequences costs MobilityDB itself;
2. bulk: the in-time points COPYed into vehicle_points (the statement trigger logs dirty buckets), then
   ``segmenter_catch_up()`` (the rounds the service runs) until the queue is empty: segment writes/s (its
   return value) and points/s (the points of the dirty buckets it read);
3. late: the late points COPYed, then ``segmenter_catch_up()``: each late point's bucket is rebuilt;
4. live: everything again from empty, with the segmenter service running (``SEGMENTER_INTERVAL_S`` 1 s):
   all points in arrival order (late ones among them) written as the Flink sink writes them (upserts of
   ``--batch`` rows, one transaction each) as fast as one connection can; the segmenter's catch-up time =
   from the last commit until its queue is empty; the largest queue depth seen on the way.

Takes about 2-4 min with the defaults (360,000 points) on the 2-core machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import bench_workdir, print_table, stop_on_sigterm
from store_support import (
    copy_batches,
    copy_buffers,
    ensure_partitions,
    queue_depth,
    scalar,
    start_segmenter,
    wait_caught_up,
)

from localservers import free_port
from localservers.postgres import PostgresServer

UPSERT = (
    "INSERT INTO vehicle_points (vehicle_id, ts, lon, lat, speed, heading, source) "
    "SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::float8[], %s::float8[], %s::float8[], "
    "%s::float8[], %s::text[]) "
    "ON CONFLICT (vehicle_id, ts) DO UPDATE SET lon = excluded.lon, lat = excluded.lat, "
    "speed = excluded.speed, heading = excluded.heading, source = excluded.source"
)


def make_points(
    vehicles: int,
    buckets: int,
    bucket_s: int,
    interval_s: float,
    late_share: float,
    start: datetime,
    seed: int = 7,
) -> tuple[list[dict], list[dict], list[dict]]:
    """(in-time points, late points, every point in arrival order). A point is late with probability
    ``late_share``: it arrives 10 to 30 min after it was taken."""
    rng = random.Random(seed)
    per_vehicle = int(buckets * bucket_s / interval_s)
    in_time, late, arrivals = [], [], []
    for step in range(per_vehicle):
        for v in range(vehicles):
            event_ms = int(start.timestamp() * 1000 + step * interval_s * 1000 + v)
            point = {
                "vehicle_id": f"seg-{v:05d}",
                "ts": event_ms,
                "lon": round(2.0 + (v % 100) * 0.01 + step * 2e-5, 6),
                "lat": round(48.0 + (v // 100) * 0.01 + step * 1e-5, 6),
                "speed": 12.5,
                "heading": 45.0,
                "source": "simulator",
            }
            delay_ms = rng.uniform(600_000, 1_800_000) if rng.random() < late_share else 0
            (late if delay_ms else in_time).append(point)
            arrivals.append((event_ms + delay_ms, point))
    arrivals.sort(key=lambda item: item[0])
    return in_time, late, [p for _, p in arrivals]


def reset(conn) -> None:
    with conn.cursor() as cur:
        cur.execute("TRUNCATE vehicle_points")  # its trigger empties segments, state and the dirty log


def stored(conn) -> tuple[int, int]:
    return (
        scalar(conn, "SELECT count(*) FROM vehicle_points"),
        scalar(conn, "SELECT count(*) FROM vehicle_trajectory_segments"),
    )


def dirty_buckets(conn) -> int:
    return scalar(conn, "SELECT count(*) FROM (SELECT DISTINCT vehicle_id, bucket FROM trajectory_dirty) d")


def points_in_dirty_buckets(conn) -> int:
    """How many stored points the pending rebuilds read (each dirty bucket is built from all its points)."""
    return scalar(
        conn,
        """SELECT count(*) FROM vehicle_points p
           JOIN (SELECT DISTINCT vehicle_id, bucket FROM trajectory_dirty) d
             ON p.vehicle_id = d.vehicle_id
            AND p.ts >= d.bucket AND p.ts < d.bucket + (SELECT bucket_width FROM trajectory_settings)""",
    )


def baseline(conn) -> tuple[float, int]:
    """One set-based statement: every (vehicle, bucket) sequence set of the stored points."""
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_segments_baseline")
        started = time.perf_counter()
        cur.execute(
            """CREATE UNLOGGED TABLE bench_segments_baseline AS
               SELECT p.vehicle_id, date_bin(s.bucket_width, p.ts, timestamptz 'epoch') AS bucket,
                      appendInstant(tgeogpoint(ST_Point(p.lon, p.lat, 4326)::geography, p.ts),
                                    NULL::float8, s.max_gap ORDER BY p.ts) AS trajectory
               FROM vehicle_points p CROSS JOIN trajectory_settings s
               WHERE geostream_valid_position(p.lon, p.lat)
               GROUP BY 1, 2"""
        )
        seconds = time.perf_counter() - started
        count = cur.rowcount
        cur.execute("DROP TABLE bench_segments_baseline")
    return seconds, count


def catch_up(conn) -> tuple[float, int, int, int]:
    """segmenter_catch_up(): (seconds, segments built, dirty buckets before, points they hold)."""
    buckets, points = dirty_buckets(conn), points_in_dirty_buckets(conn)
    started = time.perf_counter()
    built = scalar(conn, "SELECT segmenter_catch_up()")
    return time.perf_counter() - started, built, buckets, points


def upsert_batches(conn, points: list[dict], batch: int) -> float:
    """Each batch as one upsert (unnest of one array per column) and one transaction; returns seconds."""
    columns = ("vehicle_id", "ts", "lon", "lat", "speed", "heading", "source")
    rendered = []
    with conn.cursor() as cur:
        for offset in range(0, len(points), batch):
            chunk = points[offset : offset + batch]
            arrays = [[p[c] for p in chunk] for c in columns]
            arrays[1] = [datetime.fromtimestamp(ms / 1000, UTC) for ms in arrays[1]]
            rendered.append(cur.mogrify(UPSERT, arrays))
    conn.autocommit = False
    started = time.perf_counter()
    with conn.cursor() as cur:
        for statement in rendered:
            cur.execute(statement)
            conn.commit()
    seconds = time.perf_counter() - started
    conn.autocommit = True
    return seconds


def watch_depth(dsn_conn_factory, stop: threading.Event, peak: list[int]) -> None:
    conn = dsn_conn_factory()
    try:
        while not stop.wait(0.2):
            peak[0] = max(peak[0], queue_depth(conn))
    finally:
        conn.close()


def run(pg: PostgresServer, args: argparse.Namespace, work: Path) -> None:
    conn = pg.connect()
    bucket_s = int(scalar(conn, "SELECT extract(epoch FROM bucket_width) FROM trajectory_settings"))
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(seconds=(args.buckets + 2) * bucket_s)
    ensure_partitions(conn, start - timedelta(days=1), now + timedelta(days=1))
    in_time, late, arrivals = make_points(
        args.vehicles, args.buckets, bucket_s, args.interval, args.late_share, start
    )
    print(f"{len(arrivals):,} points ({len(late):,} late), {args.vehicles} vehicles x {args.buckets} buckets")

    reset(conn)
    copy_s = copy_batches(conn, "vehicle_points", copy_buffers(in_time, args.batch))
    base_s, base_segments = baseline(conn)
    bulk_s, bulk_built, bulk_buckets, bulk_points = catch_up(conn)
    _, bulk_stored = stored(conn)
    copy_late_s = copy_batches(conn, "vehicle_points", copy_buffers(late, args.batch))
    late_s, late_built, late_buckets, late_points = catch_up(conn)
    points_total, segments_total = stored(conn)

    reset(conn)
    segmenter = start_segmenter(pg.dsn, work / "segmenter.log", SEGMENTER_INTERVAL_S="1")
    stop, peak = threading.Event(), [0]
    watcher = threading.Thread(target=watch_depth, args=(pg.connect, stop, peak), daemon=True)
    watcher.start()
    try:
        live_write_s = upsert_batches(conn, arrivals, args.batch)
        live_catch_up_s = wait_caught_up(conn, 900, segmenter)
    finally:
        stop.set()
        watcher.join(10)
        segmenter.stop()
    live_points, live_segments = stored(conn)
    conn.close()

    rows = [
        ("COPY into vehicle_points (in-time)", f"{len(in_time) / copy_s:,.0f} points/s"),
        (
            "baseline: one GROUP BY statement",
            f"{base_segments:,} sequence sets in {base_s:.1f} s = {base_segments / base_s:,.0f} segments/s, "
            f"{len(in_time) / base_s:,.0f} points/s",
        ),
        (
            "segmenter, bulk (catch_up)",
            f"{bulk_built:,} segment writes ({bulk_stored:,} segments stored) for {bulk_buckets:,} dirty "
            f"buckets in {bulk_s:.1f} s = "
            f"{bulk_built / bulk_s:,.0f} segment writes/s, {bulk_points / bulk_s:,.0f} points/s",
        ),
        (
            "  ratio segmenter / baseline (points/s)",
            f"{(bulk_points / bulk_s) / (len(in_time) / base_s):.2f}",
        ),
        (
            f"late points ({len(late):,}), COPY then catch_up",
            f"{late_buckets:,} buckets to rebuild ({late_points:,} points), {late_built:,} segment writes in "
            f"{late_s:.1f} s = "
            f"{late_built / late_s:,.0f} segment writes/s, {late_points / late_s:,.0f} points/s "
            f"(COPY {len(late) / copy_late_s:,.0f} points/s)",
        ),
        ("stored after bulk + late", f"{points_total:,} points, {segments_total:,} segments"),
        (
            "live: upserts with the service running",
            f"{len(arrivals) / live_write_s:,.0f} points/s written ({args.batch}-row transactions)",
        ),
        ("  segmenter catch-up after the last commit", f"{live_catch_up_s:.1f} s (queue peak {peak[0]:,})"),
        ("  stored", f"{live_points:,} points, {live_segments:,} segments"),
    ]
    print_table("Segment building", rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--buckets", type=int, default=6, help="buckets each vehicle crosses")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between a vehicle's points")
    parser.add_argument("--late-share", type=float, default=0.05)
    parser.add_argument("--batch", type=int, default=5000, help="rows per transaction (the sink's flush)")
    args = parser.parse_args()
    stop_on_sigterm()
    with bench_workdir("segment-bench-") as work:
        pg = PostgresServer(work / "postgres", port=free_port())
        try:
            pg.start()
            run(pg, args, work)
            return 0
        finally:
            pg.destroy()


if __name__ == "__main__":
    sys.exit(main())
