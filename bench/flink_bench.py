"""Flink job landing rate into MobilityDB against COPY into a plain table, on an empty and a preloaded store.

    python bench/flink_bench.py [--points 300000] [--vehicles 1000] [--preload 10000000 | --quick]

Real servers on free ports (Apache Kafka; PostgreSQL + MobilityDB with the repository's sql/), the job
(services/flink-job/locations_job.py) on a local MiniCluster with its own settings (``--parallelism`` /
``--sink-parallelism`` / ``--job-env NAME=VALUE`` change them), and the segmenter
(services/segmenter) running next to it as in production:

1. plain COPY (the physical limit here): the same N points COPYed in batches of the sink's flush size,
   one transaction each, pre-rendered, into a table with vehicle_points' columns and primary key and
   nothing else (no partitions, no triggers, no other index);
2. Flink, empty store: N points already in the topic when the job starts; the landing rate is the slope
   of the row count between 10 % and 90 % of N (JVM start and the tail left out); then the time the
   segmenter needs after the last row until its queue is empty;
3. preload ``--preload`` points (default 10M; ``--quick`` 1M) for the same number of vehicles into one
   earlier day partition with one INSERT ... SELECT generate_series, then ANALYZE (their segments are
   built only with ``--history-segments``: rebuilding the whole history takes long and the landing path
   does not read old segments);
4. Flink, preloaded store: N more points for the preloaded vehicles (continuing their history), from a
   second topic, measured as in 2;
5. plain COPY again (empty plain table): how much the machine's speed moved during the run.

Prints ``ratio flink / plain COPY`` (target >= 0.50) and the cost per point preloaded / empty (target
<= 1.20). Takes about 4-6 min with ``--quick``, 8-12 min with the 10M preload on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ROOT, bench_workdir, print_table, stop_on_sigterm, tree_cpu_seconds
from store_support import (
    PLAIN_TABLE,
    analyze,
    copy_batches,
    copy_buffers,
    create_plain_table,
    day_start,
    ensure_partitions,
    preload,
    produce_points,
    round_robin_points,
    scalar,
    start_segmenter,
    truncate_plain_table,
    wait_caught_up,
)

from geostream.kafka import ensure_topics
from geostream.topics import DAY_MS, LOCATIONS, Topic
from localservers import KafkaServer, cache_dir, free_port, stop_process
from localservers.postgres import PostgresServer

JOB_DIR = ROOT / "services" / "flink-job"
FLUSH_ROWS = 5000
PRELOADED_TOPIC = Topic("bench_locations_preloaded", LOCATIONS.partitions, DAY_MS, key="vehicle id")


def start_job(
    flink_python: Path,
    kafka: KafkaServer,
    pg: PostgresServer,
    log_dir: Path,
    topic: str,
    job_env: dict[str, str],
):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "services/geostream"),
        "KAFKA_BROKERS": kafka.bootstrap,
        "KAFKA_TOPIC": topic,
        "KAFKA_GROUP_ID": f"flink-bench-{topic}",
        "JDBC_URL": pg.jdbc_url,
        "JDBC_USERNAME": pg.user,
        "JDBC_PASSWORD": pg.password,
        "JDBC_FLUSH_MAX_ROWS": str(FLUSH_ROWS),
        "FLINK_LOG_DIR": str(log_dir / "flink"),
        **job_env,
    }
    with open(log_dir / f"job-{topic}.log", "ab") as log:
        return subprocess.Popen(
            [str(flink_python), "locations_job.py"],
            cwd=JOB_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def landed(conn, prefix: str, since: datetime) -> int:
    """Rows of this phase: its vehicles, from its first instant on (partition pruning keeps the
    preloaded history out of the count)."""
    sql = "SELECT count(*) FROM vehicle_points WHERE ts >= %s AND vehicle_id LIKE %s"
    return scalar(conn, sql, (since, prefix + "%"))


def steady_window(samples: list[tuple], total: int) -> tuple[tuple, tuple]:
    """The samples where the row count first reached 10 % and 90 % of ``total``."""
    low = next(s for s in samples if s[1] >= 0.1 * total)
    high = next(s for s in samples if s[1] >= 0.9 * total)
    return low, high


def sustained_rate(samples: list[tuple], total: int) -> float:
    low, high = steady_window(samples, total)
    return (high[1] - low[1]) / (high[0] - low[0])


def cores_used(samples: list[tuple], total: int, column: int) -> float:
    """CPU cores a process tree used between 10 % and 90 % (column: its CPU seconds in each sample)."""
    low, high = steady_window(samples, total)
    return (high[column] - low[column]) / (high[0] - low[0])


def flink_phase(flink_python, kafka, pg, work, topic: str, points: list[dict], segmenter, job_env) -> dict:
    """Produce ``points`` to ``topic``, run the job until every row landed, wait for the segmenter."""
    produced = produce_points(kafka.bootstrap, topic, points, "flink-bench")
    print(f"  produced {len(points):,} points to {topic} ({produced:,.0f}/s)", flush=True)
    prefix = points[0]["vehicle_id"][:-5]
    since = datetime.fromtimestamp(min(p["ts"] for p in points) / 1000, UTC)
    conn = pg.connect()
    started = time.monotonic()
    job = start_job(flink_python, kafka, pg, work, topic, job_env)
    try:
        samples = []  # (time, rows, CPU seconds of the job's processes, of PostgreSQL's, of the broker's)
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        while True:
            n = landed(conn, prefix, since)
            cpu = [tree_cpu_seconds(pid) for pid in (job.pid, postmaster, kafka.process.pid)]
            samples.append((time.monotonic(), n, *cpu))
            if n >= len(points):
                break
            if job.poll() is not None:
                raise RuntimeError(f"the job exited with {job.returncode}; see {work}")
            if time.monotonic() - started > 1200:
                raise TimeoutError(f"{n:,} of {len(points):,} rows after 1200 s")
            time.sleep(0.25)
        catch_up = wait_caught_up(conn, 600, segmenter)
    finally:
        stop_process(job, timeout=60)
        conn.close()
    first_row = next(s[0] for s in samples if s[1] > 0)
    return {
        "rate": sustained_rate(samples, len(points)),
        "flink_cores": cores_used(samples, len(points), 2),
        "postgres_cores": cores_used(samples, len(points), 3),
        "broker_cores": cores_used(samples, len(points), 4),
        "first_row_s": first_row - started,
        "all_rows_s": samples[-1][0] - started,
        "catch_up_s": catch_up,
    }


def plain_copy(pg: PostgresServer, buffers: list[str], count: int) -> float:
    conn = pg.connect()
    truncate_plain_table(conn)
    seconds = copy_batches(conn, PLAIN_TABLE, buffers)
    stored = scalar(conn, f"SELECT count(*) FROM {PLAIN_TABLE}")
    truncate_plain_table(conn)
    conn.close()
    if stored != count:
        raise RuntimeError(f"plain COPY stored {stored} of {count} rows")
    return count / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=300_000, help="points landed in each phase")
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--preload", type=int, default=10_000_000, help="points stored before phase 4")
    parser.add_argument("--quick", action="store_true", help="preload 1M points instead (a quick run)")
    parser.add_argument(
        "--history-segments",
        action="store_true",
        help="also build the preloaded points' segments before phase 4 (slow: the whole history)",
    )
    parser.add_argument(
        "--parallelism", type=int, help="FLINK_PARALLELISM for the job (default: the job's own default)"
    )
    parser.add_argument(
        "--sink-parallelism",
        type=int,
        help="JDBC_SINK_PARALLELISM (default: the job's own, 1: the sink chained to the parser, writing on "
        "its own thread; 2: in tasks of their own behind a keyed shuffle)",
    )
    parser.add_argument(
        "--job-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another setting of the job (repeatable), e.g. LIVE_FEED_LINGER_MS=100",
    )
    args = parser.parse_args()
    stop_on_sigterm()
    job_env = {
        name: str(value)
        for name, value in (
            ("FLINK_PARALLELISM", args.parallelism),
            ("JDBC_SINK_PARALLELISM", args.sink_parallelism),
        )
        if value is not None
    }
    for setting in args.job_env:
        name, separator, value = setting.partition("=")
        if not separator:
            parser.error(f"--job-env takes NAME=VALUE, not {setting!r}")
        job_env[name] = value
    preload_points = 1_000_000 if args.quick else args.preload

    subprocess.run([str(JOB_DIR / "install-local.sh")], check=True)
    flink_python = cache_dir() / "flink-venv" / "bin" / "python"
    with bench_workdir("flink-bench-") as work:
        kafka = KafkaServer(work / "kafka").start()
        pg = PostgresServer(work / "postgres", port=free_port())
        segmenter = None
        try:
            pg.start()
            ensure_topics(kafka.bootstrap, [PRELOADED_TOPIC])
            now = datetime.now(UTC)
            today = day_start(now)
            conn = pg.connect()
            ensure_partitions(conn, today - timedelta(days=1), today + timedelta(days=1))
            create_plain_table(conn)
            segmenter = start_segmenter(pg.dsn, work / "segmenter.log")

            # Both phases land in the last hour, the preloaded history ends 2 h ago at the latest, on its
            # own day.
            base_ms = int((now - timedelta(hours=1)).timestamp() * 1000)
            empty_points = round_robin_points("tp-", args.points, args.vehicles, base_ms)
            buffers = copy_buffers(empty_points, FLUSH_ROWS)
            copy_before = plain_copy(pg, buffers, len(empty_points))
            print(f"plain COPY {copy_before:,.0f} points/s", flush=True)

            print("Flink, empty store", flush=True)
            empty = flink_phase(
                flink_python, kafka, pg, work, LOCATIONS.name, empty_points, segmenter, job_env
            )
            print(f"  {empty['rate']:,.0f} points/s", flush=True)

            print(f"preloading {preload_points:,} points", flush=True)
            history_end = min(today, now - timedelta(hours=2))
            load_s, _first, _interval = preload(conn, "hist-", args.vehicles, preload_points, history_end)
            segments_s = 0.0
            if args.history_segments:
                started = time.perf_counter()
                scalar(conn, "SELECT mark_trajectories_dirty()")
                scalar(conn, "SELECT segmenter_catch_up()")
                segments_s = time.perf_counter() - started
            analyze_s = analyze(conn)
            # The preload leaves GBs of dirty pages and WAL: written out now, not by the checkpointer while
            # phase 4 commits (it measured that I/O, not the cost of landing points next to a long history).
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute("CHECKPOINT")
            checkpoint_s = time.perf_counter() - started
            stored = scalar(conn, "SELECT count(*) FROM vehicle_points")
            segments = scalar(conn, "SELECT count(*) FROM vehicle_trajectory_segments")
            print(
                f"  {stored:,} points and {segments:,} segments stored: insert {load_s:.0f} s, "
                f"segments {segments_s:.0f} s, ANALYZE {analyze_s:.0f} s, CHECKPOINT {checkpoint_s:.0f} s",
                flush=True,
            )

            print("Flink, preloaded store", flush=True)
            preloaded_points = round_robin_points("hist-", args.points, args.vehicles, base_ms + 600_000)
            preloaded = flink_phase(
                flink_python, kafka, pg, work, PRELOADED_TOPIC.name, preloaded_points, segmenter, job_env
            )
            print(f"  {preloaded['rate']:,.0f} points/s", flush=True)
            copy_after = plain_copy(pg, buffers, len(empty_points))
            conn.close()

            copy_rate = (copy_before + copy_after) / 2
            cost_ratio = empty["rate"] / preloaded["rate"]
            rows = [
                ("plain COPY, before / after", f"{copy_before:,.0f} / {copy_after:,.0f} points/s"),
                ("flink, empty store", f"{empty['rate']:,.0f} points/s"),
                ("flink, preloaded store", f"{preloaded['rate']:,.0f} points/s ({stored:,} points stored)"),
                (
                    "first row after job start",
                    f"{empty['first_row_s']:.0f} s / {preloaded['first_row_s']:.0f} s",
                ),
                (
                    "CPU cores while landing, job / PostgreSQL / Kafka",
                    f"empty {empty['flink_cores']:.2f} / {empty['postgres_cores']:.2f} / "
                    f"{empty['broker_cores']:.2f}, preloaded {preloaded['flink_cores']:.2f} / "
                    f"{preloaded['postgres_cores']:.2f} / {preloaded['broker_cores']:.2f}",
                ),
                (
                    "job CPU per point, empty / preloaded",
                    f"{1e6 * empty['flink_cores'] / empty['rate']:.1f} / "
                    f"{1e6 * preloaded['flink_cores'] / preloaded['rate']:.1f} us",
                ),
                (
                    "segmenter caught up after last row",
                    f"{empty['catch_up_s']:.1f} s / {preloaded['catch_up_s']:.1f} s",
                ),
            ]
            print_table(
                f"Kafka -> MobilityDB, job settings {job_env or 'default'}, "
                f"{args.points:,} points per phase, {args.vehicles} vehicles, flush {FLUSH_ROWS}",
                rows,
            )
            print(f"ratio flink / plain COPY  {empty['rate'] / copy_rate:.2f}   (target >= 0.50; was 0.20)")
            print(f"ratio flink preloaded / plain COPY  {preloaded['rate'] / copy_rate:.2f}")
            print(
                f"cost per point preloaded / empty  {cost_ratio:.2f}   (target <= 1.20; "
                f"{1e6 / empty['rate']:.1f} us vs {1e6 / preloaded['rate']:.1f} us)"
            )
            return 0
        finally:
            if segmenter is not None:
                segmenter.stop()
            pg.destroy()
            kafka.stop()


if __name__ == "__main__":
    sys.exit(main())
