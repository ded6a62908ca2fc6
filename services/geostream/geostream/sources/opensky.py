"""OpenSky REST ``GET /api/states/all`` responses (https://openskynetwork.github.io/opensky-api/rest.html)
to location points.

A response is ``{"time": int, "states": [[...], ...] | null}``; each state vector is positional (17
columns, 18 with ``?extended=1``). Columns are read by position and extra ones ignored, like the
official Python client. Mapping: ``vehicle_id = icao24``, ``ts = time_position`` (epoch seconds, the
time of the position report: not ``time`` nor ``last_contact``), ``speed = velocity`` (m/s),
``heading = true_track``, ``alt = geo_altitude``, else ``baro_altitude``. Rows without a position
(longitude, latitude or time_position null) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from geostream.identity import IdentityError, normalize_vehicle_id
from geostream.locations import DEFAULT_MAX_FUTURE_MS, DEFAULT_MIN_TS_MS, PointError, is_number, make_point
from geostream.sources import RejectError
from geostream.timestamps import TimestampError, seconds_to_ms

COLUMNS = (
    "icao24",
    "callsign",
    "origin_country",
    "time_position",
    "last_contact",
    "longitude",
    "latitude",
    "baro_altitude",
    "on_ground",
    "velocity",
    "true_track",
    "vertical_rate",
    "sensors",
    "geo_altitude",
    "squawk",
    "spi",
    "position_source",
    "category",
)
ICAO24, TIME_POSITION, LONGITUDE, LATITUDE, BARO_ALTITUDE, VELOCITY, TRUE_TRACK, GEO_ALTITUDE = (
    0, 3, 5, 6, 7, 9, 10, 13,
)  # fmt: skip


@dataclass
class Snapshot:
    time: int | None
    points: list[dict[str, Any]] = field(default_factory=list)
    without_position: int = 0
    invalid: list[str] = field(default_factory=list)
    """One reason per state vector that could not be mapped (``icao24: field: reason``)."""


def is_states_document(doc: object) -> bool:
    return isinstance(doc, dict) and "states" in doc


def _column(row: list[Any], index: int) -> Any:
    return row[index] if index < len(row) else None


def state_point(
    row: object,
    *,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> dict[str, Any] | None:
    """One state vector -> its point; None when it has no position; raises RejectError when malformed."""
    if not isinstance(row, list) or len(row) <= LATITUDE:
        raise RejectError(f"state vector must be an array of at least {LATITUDE + 1} columns")
    try:
        icao24 = normalize_vehicle_id(row[ICAO24])
    except IdentityError as exc:
        raise RejectError(f"icao24: {exc.reason}") from None
    time_position, lon, lat = row[TIME_POSITION], row[LONGITUDE], row[LATITUDE]
    if time_position is None or lon is None or lat is None:
        return None
    try:
        ts_ms = seconds_to_ms(time_position)
    except TimestampError as exc:
        raise RejectError(f"{icao24}: time_position: {exc}") from None
    geo, baro = _column(row, GEO_ALTITUDE), _column(row, BARO_ALTITUDE)
    try:
        return make_point(
            icao24,
            ts_ms,
            lon,
            lat,
            source="dataset",
            now_ms=now_ms,
            max_future_ms=max_future_ms,
            min_ts_ms=min_ts_ms,
            speed=_column(row, VELOCITY),
            heading=_column(row, TRUE_TRACK),
            alt=geo if geo is not None else baro,
        )
    except PointError as exc:
        raise RejectError(f"{icao24}: {exc}") from None


def snapshot(
    doc: object,
    *,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> Snapshot:
    """A ``states/all`` response -> its points; ``states: null`` (no aircraft) gives none."""
    if not is_states_document(doc):
        raise RejectError('an OpenSky states document is an object with "time" and "states"')
    assert isinstance(doc, dict)
    time = doc.get("time")
    states = doc["states"]
    result = Snapshot(time if is_number(time) else None)
    if states is None:
        return result
    if not isinstance(states, list):
        raise RejectError(f"states must be an array or null, not {type(states).__name__}")
    for row in states:
        try:
            point = state_point(row, now_ms=now_ms, max_future_ms=max_future_ms, min_ts_ms=min_ts_ms)
        except RejectError as exc:
            result.invalid.append(exc.reason)
            continue
        if point is None:
            result.without_position += 1
        else:
            result.points.append(point)
    return result
