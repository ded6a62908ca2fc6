"""The compose side of the job: keep it running on the Flink session cluster, and the health checks.

    python cluster.py submit                 # flink-job service: submit the job, resubmit it if it ever goes
    python cluster.py health jobmanager      # REST API answers
    python cluster.py health taskmanager     # this TaskManager's RPC port is open
    python cluster.py health job             # the job is RUNNING on the cluster

The job keeps no state of its own beyond Kafka offsets (committed at every checkpoint) and its sinks
are idempotent, so a fresh submission after a JobManager restart resumes where the last one stopped.
Run one submitter per cluster: two could both find the job missing and submit it twice.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    import geostream  # noqa: F401
except ImportError:  # run from a checkout without PYTHONPATH
    sys.path.insert(0, str(HERE.parent / "geostream"))

from geostream.lifecycle import Shutdown  # noqa: E402
from geostream.logs import setup_logging  # noqa: E402

JOB_NAME = "geostream-locations"  # pipeline.name set by locations_job.py
TERMINAL = frozenset({"FINISHED", "CANCELED", "FAILED", "SUSPENDED"})
log = logging.getLogger("flink-job-submitter")


def rest_url() -> str:
    return os.environ.get("FLINK_REST_URL", "http://flink-jobmanager:8081").rstrip("/")


def get(path: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(rest_url() + path, timeout=timeout) as response:
        return json.load(response)


def active_jobs() -> list[dict]:
    """Jobs of this name that are running or on their way to it (created, restarting, ...)."""
    jobs = get("/jobs/overview")["jobs"]
    return [j for j in jobs if j.get("name") == JOB_NAME and j.get("state") not in TERMINAL]


def submit_command() -> list[str]:
    flink = Path(os.environ.get("FLINK_HOME", "")) / "bin" / "flink"
    host, _, port = rest_url().split("://", 1)[-1].partition(":")
    return [
        str(flink),
        "run",
        "--detached",
        f"-Drest.address={host}",
        f"-Drest.port={port or 8081}",
        "--python",
        str(HERE / "locations_job.py"),
    ]


def supervise(shutdown: Shutdown) -> None:
    poll_s = float(os.environ.get("SUBMIT_POLL_INTERVAL_S", "10"))
    backoff = 1.0
    while not shutdown.requested:
        try:
            jobs = active_jobs()
            overview = get("/overview")
        except OSError as exc:
            log.warning("Flink REST API unreachable", extra={"url": rest_url(), "error": str(exc)})
            shutdown.wait(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        backoff = 1.0
        if jobs:
            shutdown.wait(poll_s)
            continue
        needed = int(os.environ.get("FLINK_PARALLELISM", "1"))
        if overview.get("slots-available", 0) < needed:
            log.info(
                "waiting for free task slots",
                extra={"available": overview.get("slots-available"), "needed": needed},
            )
            shutdown.wait(poll_s)
            continue
        log.info("submitting the job", extra={"job_name": JOB_NAME})
        result = subprocess.run(submit_command(), capture_output=True, text=True, check=False, timeout=600)
        if result.returncode != 0:
            log.error(
                "submission failed",
                extra={"rc": result.returncode, "output": result.stdout[-4000:] + result.stderr[-4000:]},
            )
            shutdown.wait(min(poll_s * 3, 60.0))
            continue
        log.info("job submitted", extra={"output": result.stdout.strip()[-1000:]})
        shutdown.wait(poll_s)


def health(component: str) -> bool:
    try:
        if component == "jobmanager":
            return "taskmanagers" in get("/overview", timeout=4)
        if component == "job":
            return any(j["state"] == "RUNNING" for j in active_jobs())
        if component == "taskmanager":
            port = int(os.environ.get("TASK_MANAGER_RPC_PORT", "6122"))
            with socket.create_connection(("127.0.0.1", port), timeout=3):
                return True
    except OSError:
        return False
    raise SystemExit(f"unknown component {component!r}: jobmanager, taskmanager or job")


def main(argv: list[str]) -> int:
    if argv[:1] == ["health"] and len(argv) == 2:
        return 0 if health(argv[1]) else 1
    if argv == ["submit"]:
        setup_logging("flink-job", os.environ.get("LOG_LEVEL", "INFO"))
        shutdown = Shutdown()
        log.info("supervising", extra={"rest": rest_url(), "job_name": JOB_NAME})
        supervise(shutdown)
        log.info("stopped", extra={"signal": shutdown.signal_name})
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
