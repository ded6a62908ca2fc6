"""Session-wide real servers on loopback (free ports, private dirs), started on first use."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PYTHON = sys.executable


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="geostream-tests-"))
    # Servers started as root drop privileges (mosquitto, postgres): they must be able to enter it.
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka(workdir: Path):
    from localservers import KafkaServer

    server = KafkaServer(workdir / "kafka").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def opensearch(workdir: Path):
    """A real OpenSearch 2.19 node (Elasticsearch's stand-in; see tests/SEARCH_ENGINE.md)."""
    from localservers.opensearch import OpenSearchServer

    server = OpenSearchServer(workdir / "opensearch").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def es_shim(opensearch):
    """The test-only proxy that lets the official ``elasticsearch`` 8.x client talk to OpenSearch."""
    from support.search_shim import ElasticsearchShim

    shim = ElasticsearchShim(opensearch.url).start()
    yield shim
    shim.stop()


@pytest.fixture
def es(es_shim):
    """The official ``elasticsearch`` client, pointed at the session's OpenSearch through the shim."""
    from support.search_shim import elasticsearch_client

    client = elasticsearch_client(es_shim)
    yield client
    client.close()


@pytest.fixture(scope="session")
def influxdb(workdir: Path):
    from localservers.influxdb import InfluxDBServer

    server = InfluxDBServer(workdir / "influxdb").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mosquitto(workdir: Path):
    from localservers import MosquittoServer

    server = MosquittoServer(workdir / "mosquitto").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres(workdir: Path):
    from localservers import free_port
    from localservers.postgres import PostgresServer

    server = PostgresServer(workdir / "postgres", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def realclients() -> Path:
    """The real-client corpus, read in place from ../shared (never copied into the repository)."""
    path = Path(os.environ.get("GEOSTREAM_REALCLIENTS", SHARED / "realclients"))
    if not path.is_dir():
        pytest.fail(f"real-client corpus not found at {path} (set GEOSTREAM_REALCLIENTS)")
    return path
