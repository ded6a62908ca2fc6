"""trips-api with DATABASE_READ_URL: every query goes to the second connection string.

The read URL is a read-only session (``default_transaction_read_only``, what a hot standby enforces) and
DATABASE_URL points at a port nothing listens on: every endpoint answering with the data proves the API
reads only through DATABASE_READ_URL, and never writes.
"""

from __future__ import annotations

import sys
import time
import uuid
from urllib.parse import quote

import psycopg2.extras
import pytest
import requests
from support.processes import ROOT, ServiceProcess

from localservers import free_port


@pytest.fixture(scope="module")
def replica_api(postgres, workdir):
    run = uuid.uuid4().hex[:6]
    vehicle = f"replica-{run}"
    now = time.time()
    rows = [(vehicle, now - 600 + i * 10, 2.30 + i * 0.001, 48.85 + (i % 2) * 5e-4) for i in range(30)]
    conn = psycopg2.connect(postgres.dsn)
    with conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO vehicle_points (vehicle_id, ts, lon, lat, source) VALUES %s",
            [(*row, "http") for row in rows],
            template="(%s, to_timestamp(%s), %s, %s, %s)",
        )
    conn.close()
    read_only = postgres.dsn + "?options=" + quote("-c default_transaction_read_only=on")
    port = free_port()
    service = ServiceProcess(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "trips_api.wsgi:app"],
        {
            "DATABASE_URL": f"postgresql://postgres:postgres@127.0.0.1:{free_port()}/geostream",
            "DATABASE_READ_URL": read_only,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
        },
        ROOT / "services/trips-api",
        workdir / "logs" / "trips-api-replica.log",
    ).start()
    url = f"http://127.0.0.1:{port}"
    service.wait_healthy(f"{url}/health", timeout=60)
    yield url, vehicle, rows
    assert service.stop() == 0


def test_every_query_reads_through_the_read_url(replica_api):
    url, vehicle, rows = replica_api
    window = {"start": int((rows[0][1] - 60) * 1000), "end": int((rows[-1][1] + 60) * 1000)}

    def get(path: str, **params) -> dict:
        reply = requests.get(f"{url}{path}", params=params, timeout=30)
        assert reply.status_code == 200, (path, reply.text)
        return reply.json()

    latest = {v["vehicle_id"]: v for v in get("/api/vehicles/latest", limit=1000)["vehicles"]}
    assert latest[vehicle]["lon"] == pytest.approx(rows[-1][2])
    trips = get(f"/api/vehicles/{vehicle}/trajectory", **window)
    assert sum(len(t["timestamps"]) for t in trips["trips"]) == len(rows)
    in_box = get("/api/trips", bbox="2.2,48.8,2.4,48.9", **window)
    assert vehicle in {t["vehicle_id"] for t in in_box["trips"]}
    assert get(f"/api/vehicles/{vehicle}/stats", **window)
    status = get("/api/devices/status")
    assert vehicle in {d["device_id"] for d in status["devices"]}
    assert get(f"/api/devices/{vehicle}/history", duration="1h")
