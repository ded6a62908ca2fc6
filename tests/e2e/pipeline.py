"""Small clients of the platform's public surfaces, used by the e2e tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import orjson
import psycopg2
import requests
from websockets.sync.client import connect


def token_headers() -> dict[str, str]:
    """INGEST_TOKEN as a Bearer header: compose requires one (.env), the local e2e stack has none. The
    same token reads trips-api and the live feed."""
    token = os.environ.get("INGEST_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def with_token(ws_url: str) -> str:
    """The live feed's URL with ``?token=`` when there is one (browsers cannot send headers)."""
    token = os.environ.get("INGEST_TOKEN")
    return f"{ws_url}/?token={token}" if token else ws_url


def post_points(ingest_url: str, vehicles: dict[str, list[tuple[float, float, int]]]) -> dict[str, Any]:
    """``{vehicle: [(lon, lat, epoch_s), ...]}`` -> POST /ingest/location; asserts the 202."""
    body = [
        {"vehicleID": v, "path": [[lon, lat] for lon, lat, _ in pts], "timestamps": [t for *_, t in pts]}
        for v, pts in vehicles.items()
    ]
    reply = requests.post(f"{ingest_url}/ingest/location", json=body, headers=token_headers(), timeout=30)
    assert reply.status_code == 202, reply.text
    return reply.json()


def post_osmand(
    ingest_url: str, vehicle_id: str, lon: float, lat: float, epoch_s: int, **telemetry: float
) -> None:
    """One fix as Traccar Client 9 sends it (OsmAnd JSON; source ``osmand``): ``speed`` m/s, ``heading``
    degrees, ``altitude`` m and ``battery`` 0-1 when given; asserts the 200."""
    coords = {"longitude": lon, "latitude": lat} | {
        name: telemetry[name] for name in ("speed", "heading", "altitude") if name in telemetry
    }
    location: dict[str, Any] = {"timestamp": epoch_s * 1000, "coords": coords}
    if "battery" in telemetry:
        location["battery"] = {"level": telemetry["battery"]}
    reply = requests.post(
        f"{ingest_url}/ingest/osmand",
        json={"device_id": vehicle_id, "location": location},
        headers=token_headers(),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text


def wait_for(what: str, probe: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


def stored_points(database_url: str, vehicle_ids: list[str]) -> list[tuple[str, int, float, float]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT vehicle_id, (extract(epoch FROM ts) * 1000)::bigint, lon, lat FROM vehicle_points"
            " WHERE vehicle_id = ANY(%s) ORDER BY vehicle_id, ts",
            (vehicle_ids,),
        )
        rows = cur.fetchall()
    conn.close()
    return rows


def live_positions(ws_url: str, vehicle_ids: set[str], timeout: float) -> dict[str, dict]:
    """Latest point per wanted vehicle seen on the relay's snapshot and update frames."""
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    with connect(with_token(ws_url), open_timeout=10) as ws:
        while time.monotonic() < deadline and set(seen) != vehicle_ids:
            try:
                frame = orjson.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            for point in frame.get("vehicles", []):
                if point["vehicle_id"] in vehicle_ids:
                    seen[point["vehicle_id"]] = point
    return seen
