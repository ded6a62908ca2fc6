"""The locations job's parse + validation alone: points per second and per core-second, sinks as blackholes.

    python bench/flink_parse_bench.py [--points 200000] [--warmup 20000] [--job-dir DIR ...] [--rounds 2]

Real Apache Kafka on a free port; the job's own statements (services/flink-job/locations_job.py, or the
copies given with ``--job-dir``, e.g. an older checkout's, to compare two versions in one run) with its
three sinks replaced by ``blackhole`` tables and its source bounded at the topic's end, on a local
MiniCluster. Each version runs in one Python process: ``--warmup`` points twice (the first execution in
a JVM is slow: class loading, JIT), then ``--points`` points from a second topic; the figures are the
differences between the last two (so JVM start, planning and deployment drop out): rate = extra
points / extra wall time, and CPU of the whole process tree per extra point.
Versions alternate for ``--rounds`` rounds. The bench/README.md variant table's "parse + validation
alone" row. Takes ~1-2 min per version and round on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ROOT, bench_workdir, print_table, stop_on_sigterm, tree_cpu_seconds
from store_support import produce_points, round_robin_points

from geostream.kafka import ensure_topics
from geostream.topics import DAY_MS, LOCATIONS, Topic
from localservers import KafkaServer, cache_dir, stop_process

JOB_DIR = ROOT / "services" / "flink-job"

# Runs in the flink venv with the job's directory as cwd: the job's statements, sinks as blackholes, the
# source from the earliest offset to the end; one execution per topic, each bracketed by MARK lines.
HARNESS = r"""
import dataclasses, os, sys, time
import locations_job as j

KEEP = os.environ.get("BENCH_KEEP_SINKS", "").split(",")

def variant(statements):
    out = []
    for sql in statements:
        head = sql.lstrip().split("(")[0]
        if "'scan.startup.mode' = 'group-offsets'" in sql:
            sql = sql.replace("'scan.startup.mode' = 'group-offsets'", "'scan.startup.mode' = "
                              "'earliest-offset', 'scan.bounded.mode' = 'latest-offset'")
        elif head.startswith("CREATE TEMPORARY TABLE") and head.rstrip().endswith("_sink") and (
            head.split()[-1] not in KEEP
        ):
            sql = sql[: sql.rindex(") WITH (")] + ") WITH ('connector' = 'blackhole')"
        out.append(sql)
    return out

for run, topic in enumerate(sys.argv[1:]):
    s = dataclasses.replace(j.Settings.from_env(), source_topic=topic)
    # No checkpoints: a bounded job would wait for one more before it may finish.
    config = {k: v for k, v in j.table_config(s).items() if not k.startswith("execution.checkpointing.")}
    args = [config, variant(j.statements(s))]
    if hasattr(j, "java_functions"):
        args.append(j.java_functions(s))
    statement_set = j.build_statement_set(*args)
    print("MARK start", run, time.monotonic(), flush=True)
    statement_set.execute().wait()
    print("MARK end", run, time.monotonic(), flush=True)
"""


def run_version(
    flink_python: Path, job_dir: Path, brokers: str, topics: list[str], work: Path, keep_sinks: list[str]
) -> dict:
    """Runs the harness; returns (seconds, CPU seconds) between its MARK lines, one pair per topic."""
    env = {
        **os.environ,
        "PYTHONPATH": str(job_dir.parent / "geostream"),
        "KAFKA_BROKERS": brokers,
        "KAFKA_WEBSOCKET_TOPIC": "bench_parse_live",
        "BENCH_KEEP_SINKS": ",".join(keep_sinks),
        "FLINK_CONF_DIR": str(job_dir / "conf"),
        "FLINK_LOG_DIR": str(work / "flink-log"),
        "JVM_ARGS": f"-Xmx1g -Djava.io.tmpdir={work}",
    }
    process = subprocess.Popen(
        [str(flink_python), "-c", HARNESS, *topics],
        cwd=job_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(work / "harness.log", "ab"),  # noqa: SIM115 (closed with the process)
        text=True,
        start_new_session=True,
    )
    marks: dict[tuple[str, int], float] = {}
    samples: list[tuple[float, float]] = []

    def read_marks() -> None:
        for line in process.stdout:
            if line.startswith("MARK "):
                _, what, run, at = line.split()
                marks[(what, int(run))] = float(at)

    reader = threading.Thread(target=read_marks, daemon=True)
    reader.start()
    try:
        while process.poll() is None:
            samples.append((time.monotonic(), tree_cpu_seconds(process.pid)))
            time.sleep(0.2)
            if samples[-1][0] - samples[0][0] > 1800:
                raise TimeoutError("the harness ran for 30 min")
    finally:
        stop_process(process, timeout=60)
        reader.join(5)
    if process.returncode != 0 or len(marks) != 2 * len(topics):
        raise RuntimeError(f"the harness failed ({process.returncode}); see {work / 'harness.log'}")

    def cpu_at(moment: float) -> float:
        return min(samples, key=lambda s: abs(s[0] - moment))[1]

    return [
        (marks[("end", i)] - marks[("start", i)], cpu_at(marks[("end", i)]) - cpu_at(marks[("start", i)]))
        for i in range(len(topics))
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--warmup", type=int, default=20_000)
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--keep-sink",
        action="append",
        default=[],
        help="a sink table left as it is, e.g. websocket_sink (writes to topic bench_parse_live)",
    )
    parser.add_argument(
        "--job-dir",
        type=Path,
        action="append",
        help="a services/flink-job directory (default: this checkout's)",
    )
    args = parser.parse_args()
    stop_on_sigterm()
    job_dirs = [d.resolve() for d in (args.job_dir or [JOB_DIR])]
    subprocess.run([str(JOB_DIR / "install-local.sh")], check=True)
    flink_python = cache_dir() / "flink-venv" / "bin" / "python"
    with bench_workdir("flink-parse-bench-") as work:
        kafka = KafkaServer(work / "kafka").start()
        try:
            base_ms = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1000)
            topics = {"warmup": "bench_parse_warmup", "main": "bench_parse_main"}
            ensure_topics(
                kafka.bootstrap,
                [
                    Topic(t, LOCATIONS.partitions, DAY_MS, key="vehicle id")
                    for t in [*topics.values(), "bench_parse_live"]
                ],
            )
            for name, prefix, count in (("warmup", "pw-", args.warmup), ("main", "pm-", args.points)):
                points = round_robin_points(prefix, count, args.vehicles, base_ms)
                produce_points(kafka.bootstrap, topics[name], points, "flink-parse-bench")
            extra = args.points - args.warmup
            rows = []
            for round_ in range(1, args.rounds + 1):
                for job_dir in job_dirs:
                    run_dir = work / f"run-{round_}-{job_dirs.index(job_dir)}"
                    run_dir.mkdir()
                    load = os.getloadavg()[0]
                    # The first execution in a JVM is slow (class loading, JIT): run the small topic twice.
                    sequence = [topics["warmup"], topics["warmup"], topics["main"]]
                    phases = run_version(
                        flink_python, job_dir, kafka.bootstrap, sequence, run_dir, args.keep_sink
                    )
                    (warm_s, warm_cpu), (main_s, main_cpu) = phases[1], phases[2]
                    rate = extra / (main_s - warm_s)
                    per_core = extra / (main_cpu - warm_cpu)
                    cores = (main_cpu - warm_cpu) / (main_s - warm_s)
                    line = (
                        f"{rate:,.0f} points/s, {per_core:,.0f} points/core-s, cores {cores:.2f} (runs: "
                        f"{args.warmup:,} in {warm_s:.1f} s / {warm_cpu:.1f} CPU-s, {args.points:,} in "
                        f"{main_s:.1f} s / {main_cpu:.1f} CPU-s; load {load:.1f} -> {os.getloadavg()[0]:.1f})"
                    )
                    print(f"round {round_}, {job_dir}: {line}", flush=True)
                    rows.append((f"{round_}: {job_dir}", line))
            print_table(
                f"parse + validation (sinks blackhole but {args.keep_sink or 'none'}), "
                f"{args.points:,} points, {args.vehicles} vehicles",
                rows,
            )
            return 0
        finally:
            kafka.stop()


if __name__ == "__main__":
    sys.exit(main())
