"""Helpers shared by the Flink job tests: the job as a process, producing records, reading vehicle_points."""

from __future__ import annotations

import json
import os
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path

from support.processes import ServiceProcess

from geostream.kafka import make_producer

JOB_DIR = Path(__file__).resolve().parents[3] / "services" / "flink-job"


def produce(brokers: str, topic: str, records: list[tuple[str | None, bytes | None]]) -> None:
    producer = make_producer(brokers, client_id="flink-it")
    for key, value in records:
        producer.produce(topic, key=key.encode() if key is not None else None, value=value)
        producer.poll(0)
    assert producer.flush(30) == 0


def encode(record: dict) -> bytes:
    return json.dumps(record).encode()


def stored_points(postgres, prefix: str) -> dict[tuple[str, int], tuple]:
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute(
            """SELECT vehicle_id, (extract(epoch FROM ts) * 1000)::bigint, lon, lat, speed, heading, alt,
                      accuracy, battery, source
               FROM vehicle_points WHERE vehicle_id LIKE %s""",
            (prefix + "%",),
        )
        return {(row[0], row[1]): tuple(row[2:]) for row in cur.fetchall()}


@dataclass(frozen=True)
class JobTopics:
    locations: str
    websocket: str
    dlq: str


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

    def kill(self) -> None:
        """SIGKILL the job's process group: the Python driver and its MiniCluster JVM, no clean-up."""
        if self.alive():
            os.killpg(self.process.process.pid, signal.SIGKILL)
            self.process.process.wait(30)

    def restarts(self) -> int:
        """Job restarts (failures recovered by the restart strategy) in every run's Flink log so far."""
        return sum(
            path.read_text(errors="replace").count("to RESTARTING")
            for path in self.log_dir.glob("flink-*/*")
            if path.is_file()
        )


def job_env(kafka_brokers: str, topics: JobTopics, postgres) -> dict[str, str]:
    return {
        "KAFKA_BROKERS": kafka_brokers,
        "KAFKA_TOPIC": topics.locations,
        "KAFKA_WEBSOCKET_TOPIC": topics.websocket,
        "KAFKA_DLQ_TOPIC": topics.dlq,
        "KAFKA_GROUP_ID": f"flink-it-{uuid.uuid4().hex[:8]}",
        "JDBC_URL": postgres.jdbc_url,
        "JDBC_USERNAME": postgres.user,
        "JDBC_PASSWORD": postgres.password,
        "CHECKPOINT_INTERVAL_MS": "2000",
        "JDBC_FLUSH_INTERVAL_MS": "100",
        # Tests stop the database for 30 s: keep the restart back-off short, the recovery prompt.
        "RESTART_MAX_BACKOFF_MS": "5000",
    }
