"""curl -> http-ingest -> Kafka -> Flink -> MobilityDB + live feed -> ws-relay, and trips-api, for real."""

from __future__ import annotations

import time
import uuid

import requests
from pipeline import live_positions, post_points, stored_points, token_headers, wait_for

PIPELINE_TIMEOUT = (
    120  # the Flink job's first checkpoint-free start can take a while on a busy 2-core machine
)


def test_points_reach_mobilitydb_the_live_feed_and_the_history_api(platform):
    run = uuid.uuid4().hex[:8]
    now = int(time.time())
    vehicles = {
        f"e2e-{run}-{i}": [
            (2.35 + i * 0.01 + k * 0.001, 48.85 + k * 0.001, now - 30 + k * 5) for k in range(5)
        ]
        for i in range(3)
    }
    # A duplicate and a late point: stored once, in time order.
    first = next(iter(vehicles))
    vehicles[first] = [*vehicles[first], vehicles[first][0], (2.3, 48.8, now - 60)]
    assert post_points(platform.ingest_url, vehicles)["sent"] == 16

    ids = sorted(vehicles)

    def all_stored():
        rows = stored_points(platform.database_url, ids)
        return rows if len(rows) >= 16 else None

    rows = wait_for("all points in vehicle_points", all_stored, PIPELINE_TIMEOUT)
    expected = sorted({(v, t * 1000, lon, lat) for v, pts in vehicles.items() for lon, lat, t in pts})
    assert [(v, ts, round(lon, 9), round(lat, 9)) for v, ts, lon, lat in rows] == [
        (v, ts, round(lon, 9), round(lat, 9)) for v, ts, lon, lat in expected
    ]

    live = live_positions(platform.ws_url, set(ids), timeout=30)
    assert set(live) == set(ids)
    for v in ids:
        latest = max(vehicles[v], key=lambda p: p[2])
        assert (live[v]["lon"], live[v]["lat"]) == (latest[0], latest[1])

    latest = requests.get(f"{platform.api_url}/api/vehicles/latest", headers=token_headers(), timeout=10)
    latest = latest.json()["vehicles"]
    assert {v["vehicle_id"] for v in latest} >= set(ids)

    trips = wait_for(
        "trips of the three vehicles",
        lambda: [
            t
            for t in requests.get(
                f"{platform.api_url}/api/trips",
                params={"start": (now - 120) * 1000, "end": (now + 60) * 1000, "limit": 1000},
                headers=token_headers(),
                timeout=10,
            ).json()["trips"]
            if t["vehicle_id"] in ids
        ],
        30,
    )
    assert {t["vehicle_id"] for t in trips} == set(ids)
    for trip in trips:
        assert trip["timestamps"] == sorted(trip["timestamps"])
        assert len(trip["path"]) == len(trip["timestamps"])
