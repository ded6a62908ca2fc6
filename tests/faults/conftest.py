"""One local stack (scripts/localservers/stack.py, free ports) shared by every fault of the suite."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults_support import HttpSender, ingest_token, keep_logs, services_state, stored_counts

FIGURES: list[str] = []
PIPELINE_START_TIMEOUT = 600  # Kafka, PostgreSQL and the Flink job's first start on a busy 2-core machine
KEPT_LOGS = Path(os.environ.get("GEOSTREAM_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
KEPT_LOGS = KEPT_LOGS / "faults"
"""Where the stack's logs are copied when a fault test fails."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed fault test keeps its evidence: the stack's logs, copied before the stack goes, and each
    service's state (with the end of the log of any that exited) in the failure report."""
    report = (yield).get_result()
    stack = getattr(item, "funcargs", {}).get("stack")
    if report.when == "call" and report.failed and stack is not None:
        kept = keep_logs(stack, KEPT_LOGS / f"{item.name}-{time.strftime('%Y%m%dT%H%M%S')}")
        report.sections.append(("fault stack", f"logs copied to {kept}\n{services_state(stack)}"))


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("fault-injection figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def figures() -> list[str]:
    return FIGURES


@pytest.fixture(scope="module")
def stack(workdir) -> Iterator:
    from localservers.stack import LocalStack, Ports

    stack = LocalStack(workdir / "faults-stack", Ports.free())
    try:
        stack.start()
        wait_until_points_flow(stack, PIPELINE_START_TIMEOUT)
    except BaseException:
        keep_logs(stack, KEPT_LOGS / f"stack-start-{time.strftime('%Y%m%dT%H%M%S')}")
        stack.stop()
        raise
    yield stack
    stack.stop()


def wait_until_points_flow(stack, timeout: float) -> None:
    """Until a point posted to http-ingest is in MobilityDB: every stage is up (the Flink job has no
    health endpoint of its own; this is its readiness)."""
    prefix = f"probe-{uuid.uuid4().hex[:6]}-"
    sender = HttpSender(stack.ingest_url, [prefix + "v"], ingest_token(stack), interval=1.0)
    sender.start()
    deadline = time.monotonic() + timeout
    try:
        while not stored_counts(stack.postgres.dsn, prefix):
            if dead := stack.failed():
                raise RuntimeError(f"{dead.argv} exited; log:\n{dead.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no point reached MobilityDB within {timeout} s")
            time.sleep(1)
    finally:
        sender.stop()
