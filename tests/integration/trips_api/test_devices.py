"""The device prototype's endpoints (/api/devices/...) on trips-api, over real MobilityDB: online/offline
by a silence threshold, last seen, last speed, latest point and recent history."""

from __future__ import annotations

import sys
import time
import uuid

import psycopg2.extras
import pytest
import requests
from support.processes import ROOT, ServiceProcess

from localservers import free_port


@pytest.fixture(scope="module")
def devices(postgres):
    run = uuid.uuid4().hex[:6]
    now = time.time()
    live, silent, phone = f"dev-live-{run}", f"dev-silent-{run}", f"bob-{run}/phone"
    rows = [(live, now - age, 2.35, 48.85, 10.0 + age) for age in (200, 100, 10)]
    rows += [(silent, now - age, 4.35, 50.85, 3.0) for age in (1800, 1200)]
    rows += [(phone, now - 30, 13.4, 52.5, None)]
    conn = psycopg2.connect(postgres.dsn)
    with conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO vehicle_points (vehicle_id, ts, lon, lat, speed, source) VALUES %s",
            [(*row, "mqtt") for row in rows],
            template="(%s, to_timestamp(%s), %s, %s, %s, %s)",
        )
    conn.close()
    return {"live": live, "silent": silent, "phone": phone}


@pytest.fixture(scope="module")
def api(postgres, workdir, devices):
    port = free_port()
    service = ServiceProcess(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "trips_api.wsgi:app"],
        {"DATABASE_URL": postgres.dsn, "API_HOST": "127.0.0.1", "API_PORT": str(port)},
        ROOT / "services/trips-api",
        workdir / "trips-api-devices.log",
    ).start()
    service.wait_healthy(f"http://127.0.0.1:{port}/health", timeout=60)
    yield f"http://127.0.0.1:{port}"
    service.stop()


def get(url: str, **params) -> requests.Response:
    return requests.get(url, params=params, timeout=10)


def test_status_splits_online_and_offline_by_the_threshold(api, devices):
    body = get(f"{api}/api/devices/status").json()
    by_id = {d["device_id"]: d for d in body["devices"]}
    assert body["offline_after_s"] == 300
    assert by_id[devices["live"]]["status"] == "online"
    assert by_id[devices["silent"]]["status"] == "offline"
    assert by_id[devices["live"]]["speed"] == 20.0  # the newest point's
    assert 5 < by_id[devices["live"]]["age_s"] < 120
    assert 1150 < by_id[devices["silent"]]["age_s"] < 1400
    longer = {
        d["device_id"]: d["status"]
        for d in get(f"{api}/api/devices/status", offline_after="1h").json()["devices"]
    }
    assert longer[devices["silent"]] == "online"
    assert body["online"] + body["offline"] == len(body["devices"])


def test_latest_and_history(api, devices):
    latest = get(f"{api}/api/devices/{devices['phone']}/latest").json()
    assert (latest["device_id"], latest["status"], latest["lon"], latest["speed"]) == (
        devices["phone"], "online", 13.4, None,
    )  # fmt: skip
    history = get(f"{api}/api/devices/{devices['live']}/history", duration="5m").json()
    assert [p["speed"] for p in history["points"]] == [210.0, 110.0, 20.0]  # oldest first
    assert history["end"] - history["start"] == 300_000
    short = get(f"{api}/api/devices/{devices['live']}/history", duration="60s").json()
    assert [p["speed"] for p in short["points"]] == [20.0]
    assert get(f"{api}/api/devices/{devices['silent']}/history").json()["points"] == []


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/devices/status", {"offline_after": "soon"}, 400, "offline_after"),
        ("/api/devices/status", {"offline_after": "0m"}, 400, "offline_after"),
        ("/api/devices/x/history", {"duration": "99999d"}, 400, "duration"),
        ("/api/devices/x/history", {"duration": "-5m"}, 400, "duration"),
        ("/api/devices/never-seen/latest", {}, 404, None),
    ],
)
def test_bad_requests_are_named(api, path, params, status, field):
    response = get(f"{api}{path}", **params)
    assert response.status_code == status, response.text
    if field:
        assert [e["field"] for e in response.json()["errors"]] == [field]
