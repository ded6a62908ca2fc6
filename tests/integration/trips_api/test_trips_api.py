"""trips-api under gunicorn against real MobilityDB: every endpoint, and bad requests -> 4xx."""

from __future__ import annotations

import math
import sys
import uuid
from itertools import pairwise

import psycopg2.extras
import pytest
import requests
from support.processes import ROOT, ServiceProcess

from localservers import free_port

T0 = 1_700_000_000  # epoch s


def haversine_m(a, b):
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def data(postgres):
    """Two vehicles: "a" zigzags east with a 20-minute gap (two trips), "b" drives in another city.

    Zigzags, because MobilityDB drops instants that lie on a straight line at constant speed.
    """
    run = uuid.uuid4().hex[:6]
    a, b = f"api-a-{run}", f"api-b-{run}"
    rows = [(a, T0 + i * 10, 2.30 + i * 0.001, 48.85 + (i % 2) * 5e-4) for i in range(10)]
    rows += [(a, T0 + 1200 + i * 10, 2.40 + i * 0.001, 48.85 + (i % 2) * 5e-4) for i in range(5)]
    rows += [(b, T0 + i * 10, 4.85 + (i % 2) * 5e-4, 45.75 + i * 0.0005) for i in range(6)]
    phone = f"alice-{run}/phone"  # an OwnTracks id: user/device
    rows += [(phone, T0 + i * 10, 13.40 + i * 0.001, 52.52 + (i % 2) * 5e-4) for i in range(4)]
    conn = psycopg2.connect(postgres.dsn)
    with conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO vehicle_points (vehicle_id, ts, lon, lat, source) VALUES %s ON CONFLICT DO NOTHING",
            [(v, t, lon, lat, "http") for v, t, lon, lat in rows],
            template="(%s, to_timestamp(%s), %s, %s, %s)",
        )
    conn.close()
    return {"a": a, "b": b, "phone": phone, "rows": rows}


@pytest.fixture(scope="module")
def api(postgres, workdir, data):
    port = free_port()
    service = ServiceProcess(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "trips_api.wsgi:app"],
        {
            "DATABASE_URL": postgres.dsn,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "CORS_ORIGINS": "http://map",
        },
        ROOT / "services/trips-api",
        workdir / "logs" / "trips-api.log",
    ).start()
    url = f"http://127.0.0.1:{port}"
    service.wait_healthy(f"{url}/health")
    yield url
    assert service.stop() == 0


def get(api, path, **params):
    return requests.get(f"{api}{path}", params=params, timeout=30)


WINDOW = {"start": (T0 - 60) * 1000, "end": (T0 + 3600) * 1000}


def test_latest_positions(api, data):
    vehicles = {v["vehicle_id"]: v for v in get(api, "/api/vehicles/latest", limit=1000).json()["vehicles"]}
    assert vehicles[data["a"]]["ts"] == (T0 + 1240) * 1000
    assert (vehicles[data["a"]]["lon"], vehicles[data["a"]]["lat"]) == (2.404, 48.85)  # i = 4: even
    lyon = get(api, "/api/vehicles/latest", bbox="4.8,45.7,4.9,45.8").json()["vehicles"]
    assert data["b"] in {v["vehicle_id"] for v in lyon} and data["a"] not in {v["vehicle_id"] for v in lyon}


def test_trajectory_as_trips_splits_at_the_gap(api, data):
    body = get(api, f"/api/vehicles/{data['a']}/trajectory", **WINDOW).json()
    assert [len(t["path"]) for t in body["trips"]] == [10, 5]
    first = body["trips"][0]
    assert first["timestamps"] == [(T0 + i * 10) * 1000 for i in range(10)]
    assert first["path"][0] == pytest.approx([2.30, 48.85])


def test_trajectory_as_mfjson(api, data):
    body = get(api, f"/api/vehicles/{data['a']}/trajectory", format="mfjson", **WINDOW).json()
    trajectory = body["trajectory"]
    assert trajectory["type"] == "MovingPoint"
    assert trajectory["sequences"][0]["datetimes"][0].startswith("2023-11-14T22:13:20")
    assert len(trajectory["sequences"]) == 2


def test_stats_match_an_independent_haversine(api, data):
    stats = get(api, f"/api/vehicles/{data['a']}/stats", **WINDOW).json()
    pts = [(lon, lat) for v, _, lon, lat in data["rows"] if v == data["a"]]
    expected = sum(haversine_m(p, q) for trip in (pts[:10], pts[10:]) for p, q in pairwise(trip))
    assert stats["trips"] == 2 and stats["num_instants"] == 15
    assert stats["length_m"] == pytest.approx(expected, rel=0.005)
    assert stats["duration_s"] == 90 + 40
    assert stats["avg_speed_mps"] == pytest.approx(expected / 130, rel=0.005)


def test_trips_in_window_and_area_with_paging(api, data):
    ids = {data["a"], data["b"]}
    trips = [
        t for t in get(api, "/api/trips", limit=1000, **WINDOW).json()["trips"] if t["vehicle_id"] in ids
    ]
    assert sorted(t["vehicle_id"] for t in trips) == sorted([data["a"], data["a"], data["b"]])
    paris = get(api, "/api/trips", bbox="2.2,48.8,2.5,48.9", limit=1000, **WINDOW).json()["trips"]
    assert data["b"] not in {t["vehicle_id"] for t in paris}
    page = get(api, "/api/trips", limit=1, **WINDOW).json()
    assert len(page["trips"]) == 1 and page["next_offset"] == 1


def test_vehicles_in_polygon(api, data):
    polygon = '{"type":"Polygon","coordinates":[[[4.8,45.7],[4.9,45.7],[4.9,45.8],[4.8,45.8],[4.8,45.7]]]}'
    body = get(api, "/api/vehicles", polygon=polygon, **WINDOW).json()
    assert [v["vehicle_id"] for v in body["vehicles"] if v["vehicle_id"].startswith("api-")] == [data["b"]]


def test_cors_for_the_frontend_origin(api):
    reply = requests.get(f"{api}/api/vehicles/latest", headers={"Origin": "http://map"}, timeout=10)
    assert reply.headers["Access-Control-Allow-Origin"] == "http://map"
    other = requests.get(f"{api}/api/vehicles/latest", headers={"Origin": "http://evil"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_openapi(api):
    assert "/api/trips" in get(api, "/openapi.json").json()["paths"]


BAD = [
    ("/api/trips", {"start": "yesterday"}, 400, "start"),
    ("/api/trips", {"end": "2023-13-45"}, 400, "end"),
    ("/api/trips", {"start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"}, 400, "start"),
    ("/api/trips", {"start": "2020-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}, 400, "end"),
    ("/api/trips", {"bbox": "1,2,3"}, 400, "bbox"),
    ("/api/trips", {"bbox": "0,0,200,1"}, 400, "bbox"),
    ("/api/trips", {"bbox": "10,0,5,1"}, 400, "bbox"),
    ("/api/trips", {"limit": "0"}, 400, "limit"),
    ("/api/trips", {"limit": "100000"}, 400, "limit"),
    ("/api/trips", {"offset": "-5"}, 400, "offset"),
    ("/api/trips", {"polygon": "{"}, 400, "polygon"),
    ("/api/trips", {"polygon": '{"type":"Polygon"}', "bbox": "1,1,2,2"}, 400, "polygon"),
    ("/api/vehicles/latest", {"since": "later"}, 400, "start"),
    ("/api/vehicles/x/trajectory", {"format": "kml"}, 400, "format"),
    ("/api/vehicles/x/stats", {"start": "x"}, 400, "start"),
    ("/api/nothing", {}, 404, None),
]


@pytest.mark.parametrize(("path", "query", "status", "field"), BAD, ids=[f"{b[0]}-{b[3]}" for b in BAD])
def test_bad_requests(api, path, query, status, field):
    reply = get(api, path, **query)
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["status"] == "error"
    if field:
        assert field in [e["field"] for e in body["errors"]]


def test_unknown_vehicle_is_an_empty_answer(api):
    assert get(api, "/api/vehicles/nobody/trajectory").json() == {"vehicle_id": "nobody", "trips": []}


@pytest.mark.parametrize("spelling", ["slash", "percent-encoded"])
def test_vehicle_ids_with_a_slash_on_every_vehicle_route(api, data, spelling):
    phone = data["phone"]
    path_id = phone if spelling == "slash" else phone.replace("/", "%2F")
    trajectory = get(api, f"/api/vehicles/{path_id}/trajectory", **WINDOW).json()
    assert trajectory["vehicle_id"] == phone and [len(t["path"]) for t in trajectory["trips"]] == [4]
    mfjson = get(api, f"/api/vehicles/{path_id}/trajectory", format="mfjson", **WINDOW).json()
    assert mfjson["vehicle_id"] == phone and mfjson["trajectory"]["type"] == "MovingPoint"
    stats = get(api, f"/api/vehicles/{path_id}/stats", **WINDOW).json()
    assert (stats["vehicle_id"], stats["num_instants"]) == (phone, 4)
    latest = {v["vehicle_id"] for v in get(api, "/api/vehicles/latest", limit=1000).json()["vehicles"]}
    assert phone in latest
