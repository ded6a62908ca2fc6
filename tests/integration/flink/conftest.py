"""The PyFlink job on a local MiniCluster against the session's real broker and MobilityDB.

Each test gets its own topics and consumer group, so the job only ever sees the test's records.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flink_support import JOB_DIR, FlinkJob, JobTopics, job_env

from geostream.kafka import ensure_topics
from geostream.topics import LOCATIONS, LOCATIONS_DLQ, WEBSOCKET_UPDATES, Topic
from localservers import cache_dir


@pytest.fixture(scope="session")
def flink_python() -> Path:
    """The PyFlink venv (install-local.sh is a no-op when it is already there)."""
    subprocess.run([str(JOB_DIR / "install-local.sh")], check=True)
    return cache_dir() / "flink-venv" / "bin" / "python"


@pytest.fixture
def job_topics(kafka) -> JobTopics:
    tag = uuid.uuid4().hex[:8]
    topics = [
        Topic(f"{t.name}-{tag}", t.partitions, t.retention_ms, t.key)
        for t in (LOCATIONS, WEBSOCKET_UPDATES, LOCATIONS_DLQ)
    ]
    ensure_topics(kafka.bootstrap, topics)
    return JobTopics(*(t.name for t in topics))


@pytest.fixture
def flink_job(flink_python, kafka, postgres, job_topics, tmp_path) -> Iterator[FlinkJob]:
    job = FlinkJob(flink_python, job_env(kafka.bootstrap, job_topics, postgres), tmp_path)
    yield job
    job.stop()
