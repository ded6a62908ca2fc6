"""The platform's own device JSON over MQTT (``devices/<id>/location``): the contract's field names.

``{"vehicle_id", "ts", "lon", "lat", "speed" (m/s), "heading", "alt", "accuracy", "battery"}``; the id
may also be spelled ``vehicleID``/``device_id``/``id`` or come from the topic, ``ts`` may be in any
unit the platform accepts (epoch s/ms/us/ns or ISO 8601) and is the receive time when absent, and
``longitude``/``latitude``/``lng`` are accepted. Unknown members are ignored.
"""

from __future__ import annotations

from typing import Any

from geostream.locations import DEFAULT_MAX_FUTURE_MS, DEFAULT_MIN_TS_MS, PointError, make_point
from geostream.sources import Mapped, RejectError, ignored, parse_payload
from geostream.timestamps import TimestampError, to_epoch_ms

ID_KEYS = ("vehicle_id", "vehicleID", "device_id", "id")
DEVICE_SOURCES = frozenset({"mqtt", "simulator"})
"""``source`` values a device may claim; anything else is recorded as ``mqtt``."""


def _first(doc: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if doc.get(key) is not None:
            return doc[key]
    return None


def map_message(
    payload: bytes | str,
    topic_id: str | None,
    *,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> Mapped:
    doc = parse_payload(payload)
    if doc is None:
        return ignored("zero-length payload (clears a retained message)")
    return map_document(doc, topic_id, now_ms=now_ms, max_future_ms=max_future_ms, min_ts_ms=min_ts_ms)


def map_document(
    doc: dict[str, Any],
    topic_id: str | None,
    *,
    now_ms: int,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> Mapped:
    vehicle_id = _first(doc, *ID_KEYS)
    if isinstance(vehicle_id, int) and not isinstance(vehicle_id, bool):
        vehicle_id = str(vehicle_id)
    if vehicle_id is None:
        vehicle_id = topic_id
    if vehicle_id is None:
        raise RejectError("vehicle_id is missing from the payload and the topic names no device")
    lon, lat = _first(doc, "lon", "lng", "longitude"), _first(doc, "lat", "latitude")
    if lon is None or lat is None:
        raise RejectError("lon and lat are required")
    ts = _first(doc, "ts", "timestamp")
    try:
        ts_ms = now_ms if ts is None else to_epoch_ms(ts)
    except TimestampError as exc:
        raise RejectError(f"ts: {exc}") from None
    source = doc.get("source")
    if source is not None and not isinstance(source, str):
        raise RejectError(f"source: must be a string, not {type(source).__name__}")
    try:
        point = make_point(
            vehicle_id,
            ts_ms,
            lon,
            lat,
            source=source if source in DEVICE_SOURCES else "mqtt",
            now_ms=now_ms,
            max_future_ms=max_future_ms,
            min_ts_ms=min_ts_ms,
            speed=doc.get("speed"),
            heading=doc.get("heading"),
            alt=doc.get("alt"),
            accuracy=doc.get("accuracy"),
            battery=doc.get("battery"),
        )
    except PointError as exc:
        raise RejectError(str(exc)) from None
    return Mapped([point])
