"""A real PostgreSQL 17 + PostGIS + MobilityDB (scripts/localservers/postgres.py) for the schema tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localservers import free_port
from localservers.postgres import PostgresServer


@pytest.fixture(scope="session")
def mobilitydb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("mobilitydb"), port=free_port())
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def db(mobilitydb: PostgresServer):
    """An autocommit connection to an emptied schema with the default trajectory settings."""
    conn = mobilitydb.connect()
    with conn.cursor() as cur:
        cur.execute("UPDATE trajectory_settings SET max_gap = DEFAULT, bucket_width = DEFAULT")
        cur.execute("TRUNCATE vehicle_points")
    yield conn
    conn.close()
