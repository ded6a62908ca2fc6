"""Flink job landing rate into MobilityDB against COPY into a plain table, on an empty and a preloaded store.

    python bench/flink_bench.py [--points 1200000] [--warmup 300000] [--vehicles 1000]
                                [--preload 10000000 | --quick] [--statement-stats]

Real servers on free ports (Apache Kafka; PostgreSQL + MobilityDB with the repository's sql/), the job
(services/flink-job/locations_job.py) on a local MiniCluster with its own settings (``--parallelism`` /
``--sink-parallelism`` / ``--job-env NAME=VALUE`` change them), and the segmenter
(services/segmenter) running next to it as in production:

1. plain COPY (the physical limit here): the same N points COPYed in batches of the sink's flush size,
   one transaction each, pre-rendered, into a table with vehicle_points' columns and primary key and
   nothing else (no partitions, no triggers, no other index);
2. Flink, empty store: N points already in the topic when the job starts; the first ``--warmup`` rows
   warm the fresh JVM up (its JIT compiler alone takes ~0.4 cores for the first 15-25 s: a running job
   does not pay that), printed on one line; the figures (rate, cores, CPU per point) are the steady
   state over the next 90 % of the rest (the tail left out); then the time the segmenter needs after
   the last row until its queue is empty. ``--statement-stats`` loads pg_stat_statements and prints the
   statements' time per point in each measured window;
3. preload ``--preload`` points (default 10M; ``--quick`` 1M) for the same number of vehicles into the
   day partition before the phases' one with one INSERT ... SELECT generate_series, then ANALYZE (their
   segments are built only with ``--history-segments``: rebuilding the whole history takes long and the
   landing path does not read old segments);
4. Flink, preloaded store: N more points for the preloaded vehicles (continuing their history), from a
   second topic, measured as in 2;
5. plain COPY again (empty plain table): how much the machine's speed moved during the run.

Prints ``ratio flink / plain COPY`` (target >= 0.50) and the cost per point preloaded / empty (target
<= 1.20). Takes about 5 min with ``--quick``, 6-8 min with the 10M preload on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ROOT, bench_workdir, print_table, stop_on_sigterm, tree_cpu_seconds
from store_support import (
    PLAIN_TABLE,
    copy_batches,
    copy_buffers,
    create_plain_table,
    day_start,
    ensure_partitions,
    partition_of,
    preload,
    produce_points,
    round_robin_points,
    scalar,
    start_segmenter,
    truncate_plain_table,
    vacuum_analyze,
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


def vehicle_instants(points: list[dict]) -> dict[str, list[int]]:
    """Each vehicle's point times (ms), ascending."""
    instants: dict[str, list[int]] = {}
    for point in points:
        instants.setdefault(point["vehicle_id"], []).append(point["ts"])
    for times in instants.values():
        times.sort()
    return instants


def landed_sql(partitions: list[str]) -> str:
    """Each vehicle's newest instant in the phase's day partitions (named: one index probe per vehicle
    and partition, none into vehicle_points' other partitions)."""
    newest = ", ".join(
        f"(SELECT max(ts) FROM {name} WHERE vehicle_id = v AND ts >= %(since)s)" for name in partitions
    )
    return f"SELECT v, greatest({newest}) FROM unnest(%(vehicles)s::text[]) AS v"


def landed(conn, sql: str, instants: dict[str, list[int]], since: datetime) -> int:
    """Rows of this phase landed so far, from each vehicle's newest stored instant: one index probe per
    vehicle, whatever the rows stored (a count(*) scans every landed row at each sample and bills that to
    PostgreSQL). Exact because a vehicle's points land in order (one Kafka partition, one sink task per
    vehicle, batches committed in order); the phase checks it with a real count at the end."""
    with conn.cursor() as cur:
        cur.execute(sql, {"since": since, "vehicles": list(instants)})
        newest = cur.fetchall()
    return sum(
        bisect_right(instants[vehicle], int(ts.timestamp() * 1000))
        for vehicle, ts in newest
        if ts is not None
    )


def count_landed(conn, prefix: str, since: datetime) -> int:
    sql = "SELECT count(*) FROM vehicle_points WHERE ts >= %s AND vehicle_id LIKE %s"
    return scalar(conn, sql, (since, prefix + "%"))


def window_figures(samples: list[tuple], low_rows: float, high_rows: float) -> dict:
    """Rate and cores (job, PostgreSQL, broker) between the samples where the landed rows first reached
    ``low_rows`` and ``high_rows``."""
    low = next(s for s in samples if s[1] >= low_rows)
    high = next(s for s in samples if s[1] >= high_rows and s[0] > low[0])
    seconds = high[0] - low[0]
    rate = (high[1] - low[1]) / seconds
    figures = {"rate": rate, "seconds": seconds, "points": high[1] - low[1]}
    for name, column in (("flink_cores", 2), ("postgres_cores", 3), ("broker_cores", 4)):
        figures[name] = (high[column] - low[column]) / seconds
    return figures


def statement_stats(conn, points: int, top: int = 6) -> list[str]:
    """The statements that took most of PostgreSQL's execution time since the last reset (needs
    --statement-stats), as us per landed point."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT calls, total_exec_time, rows, shared_blks_hit, shared_blks_read, shared_blks_dirtied,
                      shared_blks_written, regexp_replace(left(query, 90), '\\s+', ' ', 'g')
               FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT %s""",
            (top,),
        )
        return [
            f"    {1000 * ms / points:6.1f} us/point  {calls:>6} calls  blocks per point hit/read/dirtied/"
            f"written {hit / points:.2f}/{read / points:.2f}/{dirtied / points:.2f}/{written / points:.3f}  "
            f"{query}"
            for calls, ms, _rows, hit, read, dirtied, written, query in cur.fetchall()
        ]


def flink_phase(
    flink_python,
    kafka,
    pg,
    work,
    topic: str,
    points: list[dict],
    warmup: int,
    segmenter,
    job_env,
    stats: bool,
) -> dict:
    """Produce ``points`` to ``topic``, run the job until every row landed, wait for the segmenter. The
    first ``warmup`` rows warm the fresh JVM (JIT) up; the figures are those of the next 90 % of the rest
    (the tail, where the last batches wait for a timer, left out)."""
    produced = produce_points(kafka.bootstrap, topic, points, "flink-bench")
    print(f"  produced {len(points):,} points to {topic} ({produced:,.0f}/s)", flush=True)
    prefix = points[0]["vehicle_id"][:-5]
    since = datetime.fromtimestamp(min(p["ts"] for p in points) / 1000, UTC)
    instants = vehicle_instants(points)
    measured_end = warmup + 0.9 * (len(points) - warmup)
    conn = pg.connect()
    until = datetime.fromtimestamp(max(p["ts"] for p in points) / 1000, UTC)
    days = (day_start(until) - day_start(since)).days + 1
    sql = landed_sql([partition_of(conn, day_start(since) + timedelta(days=d)) for d in range(days)])
    started = time.monotonic()
    job = start_job(flink_python, kafka, pg, work, topic, job_env)
    statement_lines: list[str] = []
    try:
        samples = []  # (time, rows, CPU seconds of the job's processes, of PostgreSQL's, of the broker's)
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        stats_state = "before"
        while True:
            n = landed(conn, sql, instants, since)
            cpu = [tree_cpu_seconds(pid) for pid in (job.pid, postmaster, kafka.process.pid)]
            samples.append((time.monotonic(), n, *cpu))
            if stats and stats_state == "before" and n >= warmup:
                scalar(conn, "SELECT pg_stat_statements_reset()")
                stats_state, stats_from = "measuring", n
            elif stats and stats_state == "measuring" and n >= measured_end:
                statement_lines = statement_stats(conn, n - stats_from)
                stats_state = "done"
            if n >= len(points):
                break
            if job.poll() is not None:
                raise RuntimeError(f"the job exited with {job.returncode}; see {work}")
            if time.monotonic() - started > 1200:
                raise TimeoutError(f"{n:,} of {len(points):,} rows after 1200 s")
            time.sleep(2)  # each sample probes every vehicle (~50 ms of PostgreSQL on this machine)
        catch_up = wait_caught_up(conn, 600, segmenter)
        counted = count_landed(conn, prefix, since)
        if counted != len(points):
            raise RuntimeError(f"{counted:,} rows counted, {len(points):,} expected (out-of-order landing?)")
    finally:
        stop_process(job, timeout=60)
        conn.close()
    first_row = next(s for s in samples if s[1] > 0)
    return {
        **window_figures(samples, warmup, measured_end),
        "warmup": window_figures(samples, first_row[1], warmup),
        "first_row_s": first_row[0] - started,
        "all_rows_s": samples[-1][0] - started,
        "catch_up_s": catch_up,
        "statements": statement_lines,
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


def enable_statement_stats(pg: PostgresServer) -> None:
    conn = pg.connect()
    with conn.cursor() as cur:
        cur.execute("ALTER SYSTEM SET shared_preload_libraries = 'postgis-3', 'pg_stat_statements'")
    conn.close()
    pg.stop()
    pg.start()
    conn = pg.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    conn.close()


def warmup_line(phase: dict) -> str:
    warmup = phase["warmup"]
    return (
        f"{warmup['rate']:,.0f} points/s, job {warmup['flink_cores']:.2f} cores "
        f"({1e6 * warmup['flink_cores'] / warmup['rate']:.1f} us/point)"
    )


def print_phase(phase: dict) -> None:
    print(
        f"  warm-up {warmup_line(phase)}; measured {phase['points']:,} points in {phase['seconds']:.0f} s: "
        f"{phase['rate']:,.0f} points/s, cores job / PostgreSQL / Kafka {phase['flink_cores']:.2f} / "
        f"{phase['postgres_cores']:.2f} / {phase['broker_cores']:.2f}",
        flush=True,
    )
    for line in phase["statements"]:
        print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--points", type=int, default=1_200_000, help="points landed in each phase, warm-up included"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=300_000,
        help="points each phase lands before it measures (the fresh job JVM's JIT warm-up)",
    )
    parser.add_argument(
        "--statement-stats",
        action="store_true",
        help="load pg_stat_statements and print the statements' time per point in each measured window",
    )
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
    if not 0 < args.warmup < args.points:
        parser.error("--warmup must be between 0 and --points")

    subprocess.run([str(JOB_DIR / "install-local.sh")], check=True)
    flink_python = cache_dir() / "flink-venv" / "bin" / "python"
    with bench_workdir("flink-bench-") as work:
        kafka = KafkaServer(work / "kafka").start()
        pg = PostgresServer(work / "postgres", port=free_port())
        segmenter = None
        try:
            pg.start()
            if args.statement_stats:
                enable_statement_stats(pg)
            ensure_topics(kafka.bootstrap, [PRELOADED_TOPIC])
            now = datetime.now(UTC)
            today = day_start(now)
            conn = pg.connect()
            ensure_partitions(conn, today - timedelta(days=2), today + timedelta(days=1))
            create_plain_table(conn)
            segmenter = start_segmenter(pg.dsn, work / "segmenter.log")

            # Both phases land in the last hour; the preloaded history ends on the day before theirs (so in
            # other partitions, as history does in production, also when the bench runs just after
            # midnight), 2 h ago at the latest.
            landing_start = now - timedelta(hours=1)
            base_ms = int(landing_start.timestamp() * 1000)
            empty_points = round_robin_points("tp-", args.points, args.vehicles, base_ms)
            buffers = copy_buffers(empty_points, FLUSH_ROWS)
            copy_before = plain_copy(pg, buffers, len(empty_points))
            print(f"plain COPY {copy_before:,.0f} points/s", flush=True)

            print("Flink, empty store", flush=True)
            empty = flink_phase(
                flink_python,
                kafka,
                pg,
                work,
                LOCATIONS.name,
                empty_points,
                args.warmup,
                segmenter,
                job_env,
                args.statement_stats,
            )
            print_phase(empty)

            print(f"preloading {preload_points:,} points", flush=True)
            history_end = min(day_start(landing_start), now - timedelta(hours=2))
            load_s, _first, _interval = preload(conn, "hist-", args.vehicles, preload_points, history_end)
            segments_s = 0.0
            if args.history_segments:
                started = time.perf_counter()
                scalar(conn, "SELECT mark_trajectories_dirty()")
                scalar(conn, "SELECT segmenter_catch_up()")
                segments_s = time.perf_counter() - started
            vacuum_s = vacuum_analyze(conn)
            # The preload leaves GBs of dirty pages and WAL: written out now, not by the checkpointer while
            # phase 4 commits (it measured that I/O, not the cost of landing points next to a long history).
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute("CHECKPOINT")
            checkpoint_s = time.perf_counter() - started
            stored = scalar(conn, "SELECT count(*) FROM vehicle_points")
            segments = scalar(conn, "SELECT count(*) FROM vehicle_trajectory_segments")
            print(
                f"  {stored:,} points and {segments:,} segments stored: insert {load_s:.0f} s, segments "
                f"{segments_s:.0f} s, VACUUM (ANALYZE) {vacuum_s:.0f} s, CHECKPOINT {checkpoint_s:.0f} s",
                flush=True,
            )

            print("Flink, preloaded store", flush=True)
            preloaded_points = round_robin_points("hist-", args.points, args.vehicles, base_ms + 600_000)
            preloaded = flink_phase(
                flink_python,
                kafka,
                pg,
                work,
                PRELOADED_TOPIC.name,
                preloaded_points,
                args.warmup,
                segmenter,
                job_env,
                args.statement_stats,
            )
            print_phase(preloaded)
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
                    "PostgreSQL CPU per point, empty / preloaded",
                    f"{1e6 * empty['postgres_cores'] / empty['rate']:.1f} / "
                    f"{1e6 * preloaded['postgres_cores'] / preloaded['rate']:.1f} us",
                ),
                (
                    "warm-up (first rows), empty / preloaded",
                    f"{warmup_line(empty)}; {warmup_line(preloaded)}",
                ),
                (
                    "segmenter caught up after last row",
                    f"{empty['catch_up_s']:.1f} s / {preloaded['catch_up_s']:.1f} s",
                ),
            ]
            print_table(
                f"Kafka -> MobilityDB, job settings {job_env or 'default'}, "
                f"{args.points:,} points per phase (measured after the first {args.warmup:,}), "
                f"{args.vehicles} vehicles, flush {FLUSH_ROWS}",
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
