"""Helpers shared by the benchmarks: servers on free ports, percentiles, process memory, a result table."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("services/geostream", "services/http-ingest", "scripts", "tests"):
    sys.path.insert(0, str(ROOT / sub))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn master + workers), in MB."""
    import psutil

    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs if p.is_running()) / 1e6


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far."""
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}\n" + "-" * len(title))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def stop_on_sigterm() -> None:
    """SIGTERM ends a benchmark as Ctrl-C does, so its ``finally`` blocks stop the servers it started."""
    import signal

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@contextmanager
def bench_workdir(prefix: str) -> Iterator[Path]:
    """A private work directory for a benchmark's servers and logs: removed when the block ends normally,
    kept (its path printed) when it fails. Mode 755: servers started as root drop privileges and must
    enter it. Stop the servers inside the block, so they are gone before it is removed."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    work.chmod(0o755)
    try:
        yield work
    except BaseException:
        print(f"logs kept in {work}", file=sys.stderr)
        raise
    shutil.rmtree(work, ignore_errors=True)
