"""Fixtures of the location-source tests: private topics, a private Mosquitto, services as processes."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.processes import ROOT, ServiceProcess

from geostream.kafka import ensure_topics, make_admin
from geostream.topics import DAY_MS, Topic
from localservers import MosquittoServer, free_port


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def json_logs(service: ServiceProcess) -> list[dict[str, Any]]:
    lines = service.log_path.read_text(errors="replace").splitlines() if service.log_path.exists() else []
    entries = []
    for line in lines:
        try:
            entries.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return entries


def wait_for_log(
    service: ServiceProcess, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0
) -> dict[str, Any]:
    """The newest JSON log entry of ``service`` matching ``predicate``, waiting up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in reversed(json_logs(service)):
            if predicate(entry):
                return entry
        if service.process is not None and service.process.poll() is not None:
            raise AssertionError(f"{service.argv} exited ({service.process.returncode}):\n{service.log()}")
        time.sleep(0.1)
    raise AssertionError(f"no matching log entry after {timeout} s:\n{service.log()}")


@pytest.fixture
def topics(kafka) -> tuple[str, str]:
    """A private locations topic and dead-letter topic, so that a test sees only its own records."""
    locations, dlq = unique("locations"), unique("dlq")
    ensure_topics(
        kafka.bootstrap, [Topic(locations, 6, DAY_MS, key="vehicle id"), Topic(dlq, 1, DAY_MS, key="")]
    )
    wait_for_leaders(kafka.bootstrap, [locations, dlq])
    return locations, dlq


def wait_for_leaders(brokers: str, names: list[str], timeout: float = 60.0) -> None:
    """Until every partition of ``names`` has a leader: Kafka creates topics asynchronously, and a reader
    assigned to a partition still without one may never read it."""
    admin = make_admin(brokers)
    deadline = time.monotonic() + timeout
    while True:
        topics = admin.list_topics(timeout=10).topics
        ready = all(
            name in topics
            and topics[name].error is None
            and topics[name].partitions
            and all(p.leader >= 0 and p.error is None for p in topics[name].partitions.values())
            for name in names
        )
        if ready:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics {names} have partitions without a leader after {timeout} s")
        time.sleep(0.2)


@pytest.fixture
def broker() -> Iterator[MosquittoServer]:
    """A Mosquitto of this test's own: retained messages and sessions of other tests cannot leak in.
    Authentication on, as in compose: publishers use ``broker.username``/``broker.password`` (admin).

    Not under the session's ``workdir``: that is private to root (mkdtemp, 0700), and Mosquitto started
    as root drops to the ``mosquitto`` user, which then cannot reach its persistence directory - sessions
    would silently not survive a broker restart.
    """
    base = Path(tempfile.mkdtemp(prefix="geostream-mosquitto-"))
    base.chmod(0o755)
    server = MosquittoServer(base / "mosquitto").start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


class Services:
    """Starts services as child processes and stops every one of them at the end of the test."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.started: list[ServiceProcess] = []

    def bridge(self, brokers: str, mqtt: MosquittoServer, **env: str) -> tuple[ServiceProcess, str]:
        """An mqtt-bridge with the broker's read-only bridge account; ``/health``'s URL."""
        port = free_port()
        service = ServiceProcess(
            [sys.executable, "-m", "mqtt_bridge"],
            {
                "KAFKA_BROKERS": brokers,
                "MQTT_BROKER_HOST": "127.0.0.1",
                "MQTT_BROKER_PORT": str(mqtt.port),
                **mqtt.credentials("bridge"),
                "MQTT_CLIENT_ID": unique("bridge"),
                "MQTT_RECONNECT_MAX_S": "2",
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(port),
                "STATS_INTERVAL_S": "0.2",
                **env,
            },
            ROOT / "services" / "mqtt-bridge",
            self.workdir / "logs" / f"{unique('mqtt-bridge')}.log",
        )
        self.started.append(service.start())
        return service, f"http://127.0.0.1:{port}/health"

    def simulator(self, mqtt: MosquittoServer, queue_dir: Path, **env: str) -> tuple[ServiceProcess, str]:
        """A device simulator with the broker's admin account (it publishes for every device)."""
        port = free_port()
        service = ServiceProcess(
            [sys.executable, "-m", "device_simulator"],
            {
                "MQTT_BROKER_HOST": "127.0.0.1",
                "MQTT_BROKER_PORT": str(mqtt.port),
                **mqtt.credentials("admin"),
                "QUEUE_DIR": str(queue_dir),
                "MQTT_RECONNECT_MAX_S": "2",
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(port),
                "STATS_INTERVAL_S": "0.2",
                **env,
            },
            ROOT / "services" / "device-simulator",
            self.workdir / "logs" / f"{unique('device-simulator')}.log",
        )
        self.started.append(service.start())
        return service, f"http://127.0.0.1:{port}/health"

    def stop_all(self) -> None:
        for service in self.started:
            service.stop()


@pytest.fixture
def services(workdir) -> Iterator[Services]:
    running = Services(workdir)
    yield running
    running.stop_all()
