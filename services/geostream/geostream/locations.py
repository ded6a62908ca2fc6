"""Location points: building contract-valid points and parsing the HTTP batch format.

Pure functions only (no I/O), shared by every ingestion path: http-ingest, the MQTT bridge, the
OwnTracks/OsmAnd mappers and the dataset loader. A point is the ``locations_topic`` message: a dict with
``vehicle_id``, ``ts`` (epoch ms), ``lon``, ``lat``, ``source`` and the optional fields that are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from geostream.contracts import FieldError
from geostream.identity import VEHICLE_ID_MAX_LEN, IdentityError, normalize_vehicle_id
from geostream.jsontypes import json_type
from geostream.timestamps import (
    DEFAULT_MAX_FUTURE_MS,
    DEFAULT_MIN_TS_MS,
    TimestampError,
    TimeWindow,
    to_epoch_ms,
)

__all__ = ["DEFAULT_MAX_FUTURE_MS", "DEFAULT_MIN_TS_MS", "VEHICLE_ID_MAX_LEN"]

SOURCES = frozenset({"http", "owntracks", "osmand", "mqtt", "dataset", "simulator"})
OPTIONAL_RANGES: dict[str, tuple[float, float]] = {
    # Bounds that no real vehicle crosses: a value outside is a unit mistake or garbage (1e308).
    "speed": (0.0, 1500.0),  # m/s; the fastest aircraft fly about 1000 m/s
    "heading": (0.0, 360.0),
    "alt": (-12_000.0, 100_000.0),  # m; the Karman line is at 100 km
    "accuracy": (0.0, 1_000_000.0),  # m
    "battery": (0.0, 100.0),  # percent
}


class PointError(ValueError):
    def __init__(self, field_name: str, reason: str):
        self.field = field_name
        self.reason = reason
        super().__init__(f"{field_name}: {reason}")


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(name: str, value: object) -> float:
    if not is_number(value):
        raise PointError(name, f"must be a number, not {json_type(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a double
        raise PointError(name, "must be finite") from None
    if not math.isfinite(number):
        raise PointError(name, "must be finite")
    return number


def check_lon(value: object, name: str = "lon") -> float:
    lon = _finite(name, value)
    if not -180.0 <= lon <= 180.0:
        raise PointError(name, f"longitude {lon:g} outside [-180, 180]")
    return lon


def check_lat(value: object, name: str = "lat") -> float:
    lat = _finite(name, value)
    if not -90.0 <= lat <= 90.0:
        raise PointError(name, f"latitude {lat:g} outside [-90, 90]")
    return lat


def check_vehicle_id(value: object, name: str = "vehicle_id", *, fold_case: bool = False) -> str:
    """:func:`geostream.identity.normalize_vehicle_id`, its refusal as a :class:`PointError`."""
    try:
        return normalize_vehicle_id(value, fold_case=fold_case)
    except IdentityError as exc:
        raise PointError(name, exc.reason) from None


def check_ts_ms(
    ts_ms: int,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    name: str = "ts",
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> int:
    """An event time already in epoch ms (its unit decided by the caller), checked against the window."""
    if type(ts_ms) is not int:
        raise PointError(name, f"must be integer epoch milliseconds, not {json_type(ts_ms)}")
    try:
        return TimeWindow(min_ts_ms, max_future_ms).check(ts_ms, now_ms)
    except TimestampError as exc:
        raise PointError(name, str(exc)) from None


def check_ts(
    value: object,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    name: str = "ts",
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> int:
    """A timestamp in any accepted form (unit told by magnitude, ISO 8601) -> epoch ms in the window."""
    try:
        ts = to_epoch_ms(value)
    except TimestampError as exc:
        raise PointError(name, str(exc)) from None
    return check_ts_ms(ts, now_ms, max_future_ms, name, min_ts_ms)


def make_point(
    vehicle_id: object,
    ts_ms: int,
    lon: object,
    lat: object,
    *,
    source: str,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
    fold_case: bool = False,
    **optional: object,
) -> dict[str, Any]:
    """Validate and normalise one point; optional fields that are ``None`` are left out.

    ``ts_ms`` is epoch milliseconds: the caller decided the unit (``geostream.timestamps``), once.
    Every point returned is valid for the ``locations_topic`` contract, PostgreSQL and the Flink job.
    """
    if source not in SOURCES:
        raise PointError("source", f"unknown source {source!r}")
    point: dict[str, Any] = {
        "vehicle_id": check_vehicle_id(vehicle_id, fold_case=fold_case),
        "ts": check_ts_ms(ts_ms, now_ms, max_future_ms, "ts", min_ts_ms),
        "lon": check_lon(lon),
        "lat": check_lat(lat),
    }
    for name, value in optional.items():
        if value is None:
            continue
        if name not in OPTIONAL_RANGES:
            raise PointError(name, "is not a field of the location contract")
        point[name] = check_optional(name, value)
    point["source"] = source
    return point


def check_optional(name: str, value: object, where: str | None = None) -> float:
    """An optional field (speed, heading, alt, accuracy, battery): a finite number within its range."""
    low, high = OPTIONAL_RANGES[name]
    number = _finite(where or name, value)
    if not low <= number <= high:
        raise PointError(where or name, f"{number:g} outside [{low:g}, {high:g}]")
    return number


@dataclass
class BatchError(ValueError):
    """A batch was refused; ``errors`` name the item index and field of every problem found."""

    errors: list[FieldError]
    truncated: bool = False

    def __str__(self) -> str:
        return "; ".join(map(str, self.errors))


@dataclass
class Batch:
    points: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    """Points dropped because the same vehicle already had a point at the same time in this batch."""


MAX_REPORTED_ERRORS = 50


def parse_batch(
    items: Any,
    *,
    now_ms: int,
    max_points: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
    source: str = "http",
) -> Batch:
    """Parse the prototype's batch format, all or nothing.

    ``[{"vehicleID": "plane-001", "path": [[lon, lat], ...], "timestamps": [t1, ...]}, ...]``; a path
    element may carry a third value, the altitude in metres. ``vehicle_id`` is accepted for
    ``vehicleID``; other keys are ignored. Raises :class:`BatchError` listing every problem (the first
    :data:`MAX_REPORTED_ERRORS`), so a client can fix a whole batch in one round trip.
    """
    errors: list[FieldError] = []

    def fail(where: str, reason: str) -> None:
        errors.append(FieldError(where, reason))

    if not isinstance(items, list):
        raise BatchError([FieldError("", f"body must be a JSON array of objects, not {json_type(items)}")])
    if not items:
        raise BatchError([FieldError("", "body must contain at least one object")])
    total = sum(len(it["path"]) for it in items if isinstance(it, dict) and isinstance(it.get("path"), list))
    if total > max_points:
        raise BatchError([FieldError("", f"{total} points in one request; the limit is {max_points}")])

    batch = Batch()
    seen: set[tuple[str, int]] = set()
    for index, item in enumerate(items):
        if len(errors) >= MAX_REPORTED_ERRORS:
            raise BatchError(errors, truncated=True)
        where = f"[{index}]"
        if not isinstance(item, dict):
            fail(where, f"must be an object, not {json_type(item)}")
            continue
        raw_id = item.get("vehicleID", item.get("vehicle_id"))
        path, stamps = item.get("path"), item.get("timestamps")
        if raw_id is None:
            fail(f"{where}.vehicleID", "is required")
        if path is None:
            fail(f"{where}.path", "is required")
        if stamps is None:
            fail(f"{where}.timestamps", "is required")
        if raw_id is None or path is None or stamps is None:
            continue
        try:
            vehicle_id = check_vehicle_id(raw_id)
        except PointError as exc:
            fail(f"{where}.vehicleID", exc.reason)
            continue
        if not isinstance(path, list):
            fail(f"{where}.path", f"must be an array of [lon, lat] pairs, not {json_type(path)}")
            continue
        if not isinstance(stamps, list):
            fail(f"{where}.timestamps", f"must be an array, not {json_type(stamps)}")
            continue
        if len(path) != len(stamps):
            fail(f"{where}", f"path has {len(path)} points but timestamps has {len(stamps)}")
            continue
        if not path:
            fail(f"{where}.path", "must contain at least one point")
            continue
        for i, (position, stamp) in enumerate(zip(path, stamps, strict=True)):
            point = _point_from_pair(position, stamp, vehicle_id, source, now_ms, max_future_ms, min_ts_ms)
            if isinstance(point, FieldError):
                fail(f"{where}.{point.field}".replace("#", str(i)), point.reason)
                if len(errors) >= MAX_REPORTED_ERRORS:
                    break
                continue
            key = (vehicle_id, point["ts"])
            if key in seen:
                batch.duplicates += 1
                continue
            seen.add(key)
            batch.points.append(point)
    if errors:
        raise BatchError(errors[:MAX_REPORTED_ERRORS], truncated=len(errors) > MAX_REPORTED_ERRORS)
    return batch


def _point_from_pair(
    position: Any,
    stamp: Any,
    vehicle_id: str,
    source: str,
    now_ms: int,
    max_future_ms: int,
    min_ts_ms: int,
) -> dict[str, Any] | FieldError:
    # Fast path for the common case (finite floats/ints in range, epoch seconds); anything unusual takes
    # the checked path below, which also produces the error message. NaN fails every comparison here.
    if type(position) is list and len(position) == 2:
        lon, lat = position
        if (
            type(lon) in _PLAIN_NUMBERS
            and type(lat) in _PLAIN_NUMBERS
            and type(stamp) in _PLAIN_NUMBERS
            and -180.0 <= lon <= 180.0
            and -90.0 <= lat <= 90.0
            and 0 <= stamp < 1e11
        ):
            ts = round(stamp * 1000)
            if min_ts_ms <= ts <= now_ms + max_future_ms:
                return {
                    "vehicle_id": vehicle_id,
                    "ts": ts,
                    "lon": float(lon),
                    "lat": float(lat),
                    "source": source,
                }
    if not isinstance(position, list) or not 2 <= len(position) <= 3:
        return FieldError("path[#]", "must be [lon, lat] or [lon, lat, alt]")
    try:
        lon = check_lon(position[0], "path[#][0]")
        lat = check_lat(position[1], "path[#][1]")
        ts = check_ts(stamp, now_ms, max_future_ms, "timestamps[#]", min_ts_ms)
        point = {"vehicle_id": vehicle_id, "ts": ts, "lon": lon, "lat": lat}
        if len(position) == 3 and position[2] is not None:
            point["alt"] = check_optional("alt", position[2], "path[#][2]")
    except PointError as exc:
        return FieldError(exc.field, exc.reason)
    point["source"] = source
    return point


_PLAIN_NUMBERS = (int, float)
