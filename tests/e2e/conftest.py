"""The platform under test: the local stack on free ports by default, or a running compose stack.

    GEOSTREAM_E2E_TARGET=compose INGEST_URL=... WS_URL=... API_URL=... FRONTEND_URL=... \
    KAFKA_BROKERS=... DATABASE_URL=... pytest tests/e2e

The same tests run against both (tests/compose/smoke.sh does the latter).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Platform:
    ingest_url: str
    ws_url: str
    api_url: str
    frontend_url: str
    kafka_brokers: str
    database_url: str


@pytest.fixture(scope="session")
def platform(workdir):
    if os.environ.get("GEOSTREAM_E2E_TARGET") == "compose":
        env = os.environ.get
        yield Platform(
            ingest_url=env("INGEST_URL", "http://localhost:5000"),
            ws_url=env("WS_URL", "ws://localhost:8082"),
            api_url=env("API_URL", "http://localhost:8083"),
            frontend_url=env("FRONTEND_URL", "http://localhost:8080"),
            kafka_brokers=env("KAFKA_BROKERS", "localhost:9092"),
            database_url=env("DATABASE_URL", "postgresql://postgres:postgres@localhost:5432/geostream"),
        )
        return
    from localservers.stack import LocalStack, Ports

    stack = LocalStack(workdir / "stack", Ports.free())
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    yield Platform(
        stack.ingest_url,
        stack.ws_url,
        stack.api_url,
        stack.frontend_url,
        stack.kafka_brokers,
        stack.postgres.dsn,
    )
    stack.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("GEOSTREAM_ARTIFACTS", ROOT / "artifacts")) / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path
