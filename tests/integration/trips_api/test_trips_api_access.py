"""trips-api's edges under gunicorn against real MobilityDB: tokens and allowed origins, the per-address
rate limit, /metrics, and query parameters no client can turn into a 500."""

from __future__ import annotations

import string
import sys

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.processes import ROOT, ServiceProcess

from localservers import free_port

TOKENS = ("read-token-1", "ingest-token-2")
MAP = "http://map.example"


def start_api(postgres, workdir, name: str, **env: str):
    port = free_port()
    service = ServiceProcess(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "trips_api.wsgi:app"],
        {
            "DATABASE_URL": postgres.dsn,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "CORS_ORIGINS": MAP,
            **env,
        },
        ROOT / "services/trips-api",
        workdir / "logs" / f"{name}.log",
    ).start()
    url = f"http://127.0.0.1:{port}"
    service.wait_healthy(f"{url}/health")
    return service, url


@pytest.fixture(scope="module")
def secured(postgres, workdir):
    service, url = start_api(
        postgres, workdir, "trips-api-secured", API_TOKENS=",".join(TOKENS), API_ALLOWED_ORIGINS=MAP
    )
    yield url
    assert service.stop() == 0


@pytest.fixture(scope="module")
def limited(postgres, workdir):
    # One worker: the limit is per process. A rate of one request per 1000 s leaves only the burst.
    service, url = start_api(
        postgres,
        workdir,
        "trips-api-limited",
        WEB_CONCURRENCY="1",
        API_RATE_PER_IP="0.001",
        API_BURST_PER_IP="5",
    )
    yield url
    assert service.stop() == 0


def test_tokens_and_allowed_origins(secured):
    route = f"{secured}/api/vehicles/latest"
    missing = requests.get(route, timeout=10)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"
    assert requests.get(route, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    assert requests.get(route, headers={"Authorization": "Basic eDp5"}, timeout=10).status_code == 401
    for token in TOKENS:
        assert (
            requests.get(route, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
        )
    from_map = requests.get(route, headers={"Origin": MAP}, timeout=10)
    assert from_map.status_code == 200 and from_map.headers["Access-Control-Allow-Origin"] == MAP
    assert requests.get(route, headers={"Origin": "http://evil.example"}, timeout=10).status_code == 401
    preflight = requests.options(
        route, headers={"Origin": MAP, "Access-Control-Request-Headers": "authorization"}, timeout=10
    )
    assert (
        preflight.status_code == 200 and "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    )
    for public in ("/health", "/openapi.json", "/metrics"):
        assert requests.get(f"{secured}{public}", timeout=10).status_code == 200
    metrics = requests.get(f"{secured}/metrics", timeout=10).text
    assert 'trips_api_rejected_total{reason="unauthorized"}' in metrics
    assert "trips_api_requests_total" in metrics


def test_per_address_rate_limit(limited):
    replies = [requests.get(f"{limited}/api/stats", timeout=30) for _ in range(8)]
    assert [r.status_code for r in replies] == [200] * 5 + [429] * 3
    assert int(replies[-1].headers["Retry-After"]) >= 1
    assert requests.get(f"{limited}/health", timeout=10).status_code == 200  # probes are never limited
    assert (
        'trips_api_rejected_total{reason="rate_limited"} 3.0'
        in requests.get(f"{limited}/metrics", timeout=10).text
    )


NASTY = [
    "\x00",
    "a\x00b",
    "",
    " ",
    "-1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "9" * 5000,
    "0x10",
    "\u202e\u0000",
    "\ud7ff",
    "\U0001f68c",
    "2023-09-01T00:00:00Z\x00",
    "-180,-90,180,90",
    "-1e308,-1e308,1e308,1e308",
    "nan,nan,nan,nan",
    "1,2,3,4,5",
    '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}',
    '{"type":"Polygon","coordinates":[[[0,0,"x"],[1,0],[1,1],[0,0,"x"]]]}',
    '{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0],[1,0],[0,0]]]}',
    '{"type":"Polygon","coordinates":[[[1e308,0],[1,0],[1,1],[1e308,0]]]}',
    '{"type":"Polygon","coordinates":[]}',
    "[" * 10000,
    "x" * 100_000,
]
ROUTES = [
    "/api/vehicles/latest",
    "/api/trips",
    "/api/vehicles",
    "/api/stats",
    "/api/vehicles/v-1/trajectory",
    "/api/vehicles/v-1/stats",
]
PARAMETERS = ["start", "end", "since", "bbox", "polygon", "limit", "offset", "format"]


@pytest.fixture(scope="module")
def open_api(postgres, workdir):
    service, url = start_api(postgres, workdir, "trips-api-nasty", API_RATE_PER_IP="0")
    yield url
    assert service.stop() == 0


def test_no_query_parameter_gives_a_500(open_api):
    answers: dict[int, int] = {}
    for route in ROUTES:
        for name in PARAMETERS:
            for value in NASTY:
                reply = requests.get(f"{open_api}{route}", params={name: value}, timeout=60)
                answers[reply.status_code] = answers.get(reply.status_code, 0) + 1
                # 414: gunicorn refuses request lines over 4094 bytes before the app sees them.
                assert reply.status_code in (200, 400, 414), (route, name, value[:50], reply.text[:300])
                if reply.status_code == 400:
                    assert reply.json()["errors"], reply.text
    print(f"trips-api nasty parameters: {sum(answers.values())} requests, answers by status {answers}")


@pytest.mark.parametrize(
    "vehicle_path",
    ["a%00b", "%00", "a//b", "a/", "%E2%80%AE", "x" * 300, "a%0Ab", "%ff%fe", "%C0%80"],
)
def test_invalid_vehicle_ids_are_400_naming_the_field(open_api, vehicle_path):
    for suffix in ("trajectory", "stats"):
        reply = requests.get(f"{open_api}/api/vehicles/{vehicle_path}/{suffix}", timeout=30)
        assert reply.status_code == 400, (vehicle_path, reply.text)
        assert [e["field"] for e in reply.json()["errors"]] == ["vehicle_id"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(ROUTES),
    query=st.dictionaries(
        st.sampled_from(PARAMETERS),
        st.one_of(st.text(max_size=40), st.text(alphabet=string.digits + ",.-e:TZ", max_size=40)),
        max_size=4,
    ),
    vehicle=st.text(min_size=1, max_size=30).filter(lambda v: "/" not in v and v not in (".", "..")),
)
def test_generated_requests_are_never_a_500(open_api, route, query, vehicle):
    route = route.replace("v-1", requests.utils.quote(vehicle, safe=""))
    reply = requests.get(f"{open_api}{route}", params=query, timeout=60)
    assert reply.status_code in (200, 400, 404, 414), (route, query, reply.text[:300])
