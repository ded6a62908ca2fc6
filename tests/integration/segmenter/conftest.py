"""A private MobilityDB per module (retention drops partitions; the outage test stops the server) and the
segmenter run as its container runs it: ``python -m segmenter``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.processes import ROOT, ServiceProcess

from localservers import free_port
from localservers.postgres import PostgresServer

sys.path.insert(0, str(ROOT / "services/segmenter"))  # the pure logic, for test_plan.py


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    workdir = tmp_path_factory.mktemp("segmenter-db")
    workdir.chmod(0o755)
    server = PostgresServer(workdir, port=free_port())
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def db(store: PostgresServer):
    conn = store.connect()
    with conn.cursor() as cur:
        cur.execute("TRUNCATE vehicle_points")
    yield conn
    conn.close()


Segmenter = Callable[..., tuple[ServiceProcess, str]]


@pytest.fixture
def segmenter(store: PostgresServer, tmp_path: Path) -> Iterator[Segmenter]:
    """Starts segmenters against ``store``; returns (process, base URL); stops them all at the end."""
    started: list[ServiceProcess] = []

    def start(wait: bool = True, **env: str) -> tuple[ServiceProcess, str]:
        port = free_port()
        process = ServiceProcess(
            [sys.executable, "-m", "segmenter"],
            {
                "DATABASE_URL": store.dsn,
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(port),
                "SEGMENTER_INTERVAL_S": "0.2",
                **env,
            },
            ROOT / "services/segmenter",
            tmp_path / f"segmenter-{len(started)}.log",
        ).start()
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        if wait:
            process.wait_healthy(f"{url}/health", timeout=60)
        return process, url

    yield start
    for process in started:
        process.stop()
