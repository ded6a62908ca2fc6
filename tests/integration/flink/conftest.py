"""The PyFlink job on a local MiniCluster against the session's real broker and MobilityDB.

Each test gets its own topics and consumer group, so the job only ever sees the test's records.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flink_support import JOB_DIR
from support.processes import ServiceProcess

from geostream.kafka import ensure_topics
from geostream.topics import LOCATIONS, LOCATIONS_DLQ, WEBSOCKET_UPDATES, Topic
from localservers import cache_dir


@pytest.fixture(scope="session")
def flink_python() -> Path:
    """The PyFlink venv (install-local.sh is a no-op when it is already there)."""
    subprocess.run([str(JOB_DIR / "install-local.sh")], check=True)
    return cache_dir() / "flink-venv" / "bin" / "python"


@dataclass(frozen=True)
class JobTopics:
    locations: str
    websocket: str
    dlq: str


@pytest.fixture
def job_topics(kafka) -> JobTopics:
    tag = uuid.uuid4().hex[:8]
    topics = [
        Topic(f"{t.name}-{tag}", t.partitions, t.retention_ms, t.key)
        for t in (LOCATIONS, WEBSOCKET_UPDATES, LOCATIONS_DLQ)
    ]
    ensure_topics(kafka.bootstrap, topics)
    return JobTopics(*(t.name for t in topics))


class FlinkJob:
    """locations_job.py run as `make local` runs it: the flink venv's python, a child process."""

    def __init__(self, python: Path, env: dict[str, str], log_dir: Path):
        self.python, self.env, self.log_dir = python, env, log_dir
        self.runs = 0
        self.process: ServiceProcess | None = None

    def start(self) -> FlinkJob:
        self.runs += 1
        env = {**self.env, "FLINK_LOG_DIR": str(self.log_dir / f"flink-{self.runs}")}
        self.process = ServiceProcess(
            [str(self.python), "locations_job.py"], env, JOB_DIR, self.log_dir / f"job-{self.runs}.log"
        ).start()
        return self

    def stop(self) -> int | None:
        return self.process.stop(timeout=60) if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.process.poll() is None

    def log(self) -> str:
        return self.process.log() if self.process else ""


@pytest.fixture
def flink_job(flink_python, kafka, postgres, job_topics, tmp_path) -> Iterator[FlinkJob]:
    job = FlinkJob(
        flink_python,
        {
            "KAFKA_BROKERS": kafka.bootstrap,
            "KAFKA_TOPIC": job_topics.locations,
            "KAFKA_WEBSOCKET_TOPIC": job_topics.websocket,
            "KAFKA_DLQ_TOPIC": job_topics.dlq,
            "KAFKA_GROUP_ID": f"flink-it-{uuid.uuid4().hex[:8]}",
            "JDBC_URL": postgres.jdbc_url,
            "JDBC_USERNAME": postgres.user,
            "JDBC_PASSWORD": postgres.password,
            "CHECKPOINT_INTERVAL_MS": "2000",
            "JDBC_FLUSH_INTERVAL_MS": "100",
            "WATERMARK_DELAY_MS": "2000",
        },
        tmp_path,
    )
    yield job
    job.stop()
