"""One local stack (scripts/localservers/stack.py, free ports) shared by every fault of the suite."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from faults_support import HttpSender, ingest_token, stored_counts

FIGURES: list[str] = []
PIPELINE_START_TIMEOUT = 600  # Kafka, PostgreSQL and the Flink job's first start on a busy 2-core machine


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
