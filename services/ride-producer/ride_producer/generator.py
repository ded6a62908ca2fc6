"""Pure ride generation: a ``rides_raw`` record from a random source and a time (no I/O).

Origins and destinations are drawn around the city's hot spots (weighted), jittered by a normal
distribution; the duration follows the road distance (great circle x ``ROAD_FACTOR``) at a speed that
depends on the local hour (rush hours slow, nights fast), plus pick-up time and noise. Comfort levels
follow ``COMFORT_MIX``, a fifth of them written with the aliases (eco, comfort, business), as older
apps do. Tariffs per level are in ``TARIFFS``.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from geostream.rides import Point, haversine_km
from ride_producer.city import City, HotSpot

KM_PER_DEG_LAT = 111.195
ROAD_FACTOR = 1.35
PICKUP_MIN = 2.0
COMFORT_MIX: dict[str, float] = {"low": 0.6, "medium": 0.3, "high": 0.1}
ALIAS_OF: dict[str, str] = {"low": "eco", "medium": "comfort", "high": "business"}
ALIAS_SHARE = 0.2
TARIFFS: dict[str, tuple[float, float, float]] = {
    # level: (price_base, price_per_km, price_per_min)
    "low": (2.5, 1.2, 0.3),
    "medium": (4.0, 1.6, 0.4),
    "high": (7.0, 2.5, 0.6),
}


def speed_kmh(local_hour: int) -> float:
    """Typical door-to-door taxi speed by local hour."""
    if local_hour in (7, 8, 9, 16, 17, 18):
        return 14.0
    if 10 <= local_hour <= 15 or 19 <= local_hour <= 21:
        return 19.0
    return 28.0


def jitter(rng: random.Random, spot: HotSpot) -> Point:
    dlat = rng.gauss(0, spot.spread_km) / KM_PER_DEG_LAT
    dlon = rng.gauss(0, spot.spread_km) / (KM_PER_DEG_LAT * math.cos(math.radians(spot.lat)))
    return Point(round(spot.lat + dlat, 6), round(spot.lon + dlon, 6))


def ride(rng: random.Random, city: City, moment: datetime) -> dict[str, Any]:
    weights = [s.weight for s in city.spots]
    start = rng.choices(city.spots, weights)[0]
    # A quarter of the rides stay in the neighbourhood; the others go to another hot spot.
    end = start if rng.random() < 0.25 else rng.choices(city.spots, weights)[0]
    origin, destination = jitter(rng, start), jitter(rng, end)
    road_km = haversine_km(origin, destination) * ROAD_FACTOR
    local_hour = (moment + timedelta(hours=city.utc_offset_h)).hour
    minutes = PICKUP_MIN + road_km / speed_kmh(local_hour) * 60 * rng.uniform(0.85, 1.25)
    level = rng.choices(list(COMFORT_MIX), list(COMFORT_MIX.values()))[0]
    base, per_km, per_min = TARIFFS[level]
    return {
        "ride_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "ts": moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "origin": {"lat": origin.lat, "lon": origin.lon},
        "destination": {"lat": destination.lat, "lon": destination.lon},
        "comfort": ALIAS_OF[level] if rng.random() < ALIAS_SHARE else level,
        "duration_min": round(minutes, 1),
        "price_base": base,
        "price_per_km": per_km,
        "price_per_min": per_min,
    }


MALFORMED_KINDS = ("invalid JSON", "missing field", "out of range", "wrong type")


def malformed(rng: random.Random, record: dict[str, Any]) -> tuple[str, bytes]:
    """A broken version of ``record`` for the DLQ to catch: (kind, value bytes)."""
    import orjson

    kind = rng.choice(MALFORMED_KINDS)
    broken = {**record, "origin": dict(record["origin"])}
    if kind == "invalid JSON":
        text = orjson.dumps(record)
        return kind, text[: rng.randrange(1, len(text) - 1)]
    if kind == "missing field":
        del broken[rng.choice(["ts", "origin", "comfort", "duration_min", "price_base"])]
    elif kind == "out of range":
        broken["origin"]["lat"] = rng.choice([95.0, -120.0])
    else:
        broken["duration_min"] = str(broken["duration_min"])
    return kind, orjson.dumps(broken)
