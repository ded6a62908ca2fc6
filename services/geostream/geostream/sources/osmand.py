"""The OsmAnd protocol (https://www.traccar.org/osmand/) as Traccar Client and the OsmAnd app send it.

Like Traccar's ``OsmAndProtocolDecoder``: a ``Content-Type: application/json`` body is the JSON format
(``{"device_id", "location": {"timestamp", "coords": {...}, "battery": {"level"}}}``); anything else is
read from the query parameters or, when the URI has none, from the body as a form. Query/form ``speed``
is in knots (Traccar's default); JSON ``coords.speed`` is m/s. ``timestamp`` is epoch seconds (below
2^31 - 1) or milliseconds, ISO 8601, or ``yyyy-MM-dd HH:mm:ss`` (taken as UTC); absent means now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import orjson

from geostream.locations import DEFAULT_MAX_FUTURE_MS, DEFAULT_MIN_TS_MS, PointError, is_number, make_point
from geostream.sources import Mapped, RejectError, ignored, known_or_none, scaled
from geostream.timestamps import TimestampError, iso_to_ms, to_epoch_ms

KNOTS_TO_MS = 1852 / 3600
SECONDS_LIMIT = 2**31 - 1
"""Traccar reads a numeric timestamp below this as epoch seconds, otherwise as milliseconds."""


def parse_timestamp(text: str) -> int:
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            return iso_to_ms(value)
        except TimestampError as exc:
            raise RejectError(f"timestamp: {exc}") from None
    if not math.isfinite(number) or number < 0:
        raise RejectError(f"timestamp: {value!r} is not a valid epoch time")
    return round(number * 1000) if number < SECONDS_LIMIT else round(number)


def _number(name: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise RejectError(f"{name}: {text[:40]!r} is not a number") from None
    if not math.isfinite(number):
        raise RejectError(f"{name}: must be finite")
    return number


def is_json(content_type: str | None) -> bool:
    return (content_type or "").strip().lower().startswith("application/json")


def from_params(
    params: Iterable[tuple[str, str]],
    *,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> Mapped:
    """Query or form parameters (in request order; the first of a repeated name wins)."""
    p: dict[str, str] = {}
    for key, value in params:
        p.setdefault(key, value)
    vehicle_id = (p.get("id") or "").strip() or (p.get("deviceid") or "").strip()
    if not vehicle_id:
        raise RejectError("id (or deviceid) is required")
    valid = p.get("valid")
    if valid is not None and valid.strip().lower() not in ("true", "1"):
        return ignored(f"valid={valid}: the client flags the fix as invalid")

    def opt(name: str, *aliases: str) -> float | None:
        for key in (name, *aliases):
            text = p.get(key, "").strip()
            if text:
                return _number(key, text)
        return None

    location = p.get("location", "").strip()
    if location:
        parts = location.split(",")
        if len(parts) != 2:
            raise RejectError(f"location: must be 'lat,lon', not {location[:40]!r}")
        lat, lon = _number("location", parts[0]), _number("location", parts[1])
    elif p.get("lat", "").strip() and p.get("lon", "").strip():
        lat, lon = _number("lat", p["lat"]), _number("lon", p["lon"])
    elif p.get("lat", "").strip() or p.get("lon", "").strip():
        raise RejectError("lat and lon must be sent together")
    else:
        return ignored("no position (lat/lon or location) in the request")
    stamp = p.get("timestamp", "").strip()
    accuracy = opt("accuracy")
    try:
        point = make_point(
            vehicle_id,
            parse_timestamp(stamp) if stamp else now_ms,
            lon,
            lat,
            source="osmand",
            now_ms=now_ms,
            max_future_ms=max_future_ms,
            min_ts_ms=min_ts_ms,
            speed=scaled(known_or_none(opt("speed")), KNOTS_TO_MS),
            heading=known_or_none(opt("bearing", "heading")),
            alt=opt("altitude"),
            # Legacy Traccar Client sends accuracy=0.0 for raw GPS fixes: zero means unknown.
            accuracy=known_or_none(accuracy) or None,
            battery=known_or_none(opt("batt")),
        )
    except PointError as exc:
        raise RejectError(str(exc)) from None
    return Mapped([point])


def from_json(
    body: bytes | str,
    *,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> Mapped:
    """The JSON format of Traccar Client 9 (transistorsoft background-geolocation location objects)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RejectError(f"body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RejectError("body must be a JSON object with device_id and location")
    device_id = doc.get("device_id")
    if isinstance(device_id, int) and not isinstance(device_id, bool):
        device_id = str(device_id)
    if not isinstance(device_id, str) or not device_id.strip():
        raise RejectError("device_id is required")
    location = doc.get("location")
    if not isinstance(location, dict):
        raise RejectError("location must be an object")
    coords = location.get("coords")
    if coords is None:
        return ignored("location without coords")
    if not isinstance(coords, dict):
        raise RejectError("location.coords must be an object")
    stamp: Any = location.get("timestamp")
    if stamp is None:
        ts = now_ms
    else:
        try:
            ts = to_epoch_ms(stamp)
        except TimestampError as exc:
            raise RejectError(f"location.timestamp: {exc}") from None
    battery = location.get("battery")
    level = known_or_none(battery.get("level")) if isinstance(battery, dict) else None
    if level is not None and (not is_number(level) or not 0 <= level <= 1):
        raise RejectError("location.battery.level must be a number in [0, 1]")
    try:
        point = make_point(
            device_id,
            ts,
            coords.get("longitude"),
            coords.get("latitude"),
            source="osmand",
            now_ms=now_ms,
            max_future_ms=max_future_ms,
            min_ts_ms=min_ts_ms,
            speed=known_or_none(coords.get("speed")),
            heading=known_or_none(coords.get("heading")),
            alt=coords.get("altitude"),
            accuracy=known_or_none(coords.get("accuracy")),
            battery=None if level is None else round(level * 100),
        )
    except PointError as exc:
        field = {"lon": "coords.longitude", "lat": "coords.latitude"}.get(exc.field, exc.field)
        raise RejectError(f"{field}: {exc.reason}") from None
    return Mapped([point])


def from_request(
    content_type: str | None,
    query: bytes | str,
    body: bytes,
    *,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> Mapped:
    """Traccar's dispatch: JSON body by Content-Type, else the query string, else the body as a form."""
    if is_json(content_type):
        return from_json(body, now_ms=now_ms, max_future_ms=max_future_ms, min_ts_ms=min_ts_ms)
    params = _form(query, "query string")
    if not params and body:
        params = _form(body, "body")
    return from_params(params, now_ms=now_ms, max_future_ms=max_future_ms, min_ts_ms=min_ts_ms)


def _form(data: bytes | str, where: str) -> list[tuple[str, str]]:
    """``a=1&b=2`` (percent-escapes decoded as UTF-8); invalid UTF-8 is refused, never replaced."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise RejectError(f"{where} is not valid UTF-8") from None
