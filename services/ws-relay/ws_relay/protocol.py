"""The relay's wire formats (pure, no I/O): Kafka records in, v1 WebSocket frames out, client messages in.

Protocol v2 (negotiated in the URL) is in :mod:`ws_relay.protocol_v2`. v1, server -> client, JSON text
frames:
  ``{"type":"snapshot","vehicles":[point,...]}`` once, on connect;
  ``{"type":"update","vehicles":[point,...]}`` about every 100 ms while something changed;
  ``{"type":"error","error":"..."}`` after a message the relay could not use.
Client -> server: ``{"type":"viewport","bbox":[minLon,minLat,maxLon,maxLat]}`` or ``"bbox": null``,
with an optional ``"zoom"`` (the map's zoom level; used by v2).
A point is a ``websocket_updates_topic`` message.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from geostream import contracts
from ws_relay.geo import BBox, BBoxError, parse_bbox

TOPIC_CONTRACT = "websocket_updates_topic"
MAX_REASON_CHARS = 300


class MalformedRecordError(ValueError):
    """A Kafka record that is not a contract-valid point; ``kind`` names the counter it goes to."""

    def __init__(self, kind: str, reason: str):
        self.kind = kind
        self.reason = reason
        super().__init__(f"{kind}: {reason}")


@dataclass(frozen=True, slots=True)
class Point:
    vehicle_id: str
    ts: int
    lon: float
    lat: float
    json: bytes
    speed: float = math.nan
    heading: float = math.nan
    alt: float = math.nan
    battery: float = math.nan
    source: str | None = None


def _number(message: dict[str, Any], name: str) -> float:
    value = message.get(name)
    return math.nan if value is None else float(value)


def decode_point(value: bytes | None) -> Point:
    """A record value -> a point, re-encoded compactly; raises :class:`MalformedRecordError`."""
    if not value:
        raise MalformedRecordError("empty", "record has no value")
    try:
        message = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise MalformedRecordError("not_json", str(exc)[:MAX_REASON_CHARS]) from None
    if not contracts.is_valid(TOPIC_CONTRACT, message):
        if not isinstance(message, dict):
            raise MalformedRecordError("contract", "value is not a JSON object")
        problems = "; ".join(map(str, contracts.errors(TOPIC_CONTRACT, message)))
        raise MalformedRecordError("contract", problems[:MAX_REASON_CHARS])
    return Point(
        message["vehicle_id"],
        message["ts"],
        message["lon"],
        message["lat"],
        orjson.dumps(message),
        _number(message, "speed"),
        _number(message, "heading"),
        _number(message, "alt"),
        _number(message, "battery"),
        message.get("source"),
    )


_FRAME_HEADS = {
    "snapshot": b'{"type":"snapshot","vehicles":[',
    "update": b'{"type":"update","vehicles":[',
}


def frame(kind: str, points: Sequence[bytes]) -> bytes:
    """A snapshot or update frame from already-encoded points (joined, never re-encoded)."""
    return _FRAME_HEADS[kind] + b",".join(points) + b"]}"


LAZY_POINTS = 2000
"""Frames with more points are sent as WebSocket fragments, encoded while they are sent."""
POINTS_PER_FRAGMENT = 1000


class LazyFrame:
    """A large frame (a snapshot of a big fleet, a long-lagging client's catch-up), sent as fragments.

    It holds references to the table's encoded points, not a copy: the bytes of each fragment exist
    only while that fragment waits for the socket, so a slow client cannot pin a second copy of the
    whole table. The client receives one ordinary message.
    """

    __slots__ = ("kind", "points")

    def __init__(self, kind: str, points: Sequence[bytes]):
        self.kind = kind
        self.points = points

    def __len__(self) -> int:
        """Encoded size in bytes, without encoding."""
        points = self.points
        return len(_FRAME_HEADS[self.kind]) + sum(map(len, points)) + max(len(points) - 1, 0) + 2

    def fragments(self, per_fragment: int = POINTS_PER_FRAGMENT) -> Iterator[bytes]:
        """The frame's bytes in pieces; a generator per send, so one frame can go to many clients."""
        points = self.points
        for start in range(0, max(len(points), 1), per_fragment):
            head = _FRAME_HEADS[self.kind] if start == 0 else b","
            tail = b"]}" if start + per_fragment >= len(points) else b""
            yield head + b",".join(points[start : start + per_fragment]) + tail

    def __bytes__(self) -> bytes:
        return frame(self.kind, self.points)


Frame = bytes | LazyFrame


def make_frame(kind: str, points: Sequence[bytes]) -> Frame:
    return LazyFrame(kind, points) if len(points) > LAZY_POINTS else frame(kind, points)


def error_frame(message: str) -> bytes:
    return orjson.dumps({"type": "error", "error": message})


class ClientMessageError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Viewport:
    bbox: BBox | None
    zoom: float | None = None
    """The map's zoom level, when the client sent it (protocol v2)."""


MAX_ZOOM = 30


def parse_client_message(data: str | bytes) -> Viewport:
    """A client's text frame -> its request; raises :class:`ClientMessageError` with a reply for it."""
    if isinstance(data, bytes):
        raise ClientMessageError("binary frames are not accepted; send JSON text")
    try:
        message: Any = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ClientMessageError("message is not valid JSON") from None
    if not isinstance(message, dict):
        raise ClientMessageError("message must be a JSON object")
    kind = message.get("type")
    if kind != "viewport":
        shown = kind if isinstance(kind, str) else orjson.dumps(kind).decode()
        raise ClientMessageError(f'unknown message type {shown[:40]!r}; expected "viewport"')
    if "bbox" not in message:
        raise ClientMessageError('viewport needs "bbox": [minLon, minLat, maxLon, maxLat] or null')
    try:
        bbox = parse_bbox(message["bbox"])
    except BBoxError as exc:
        raise ClientMessageError(f"invalid bbox: {exc}") from None
    zoom = message.get("zoom")
    if zoom is not None and (
        isinstance(zoom, bool) or not isinstance(zoom, int | float) or not 0 <= zoom <= MAX_ZOOM
    ):
        raise ClientMessageError(f"invalid zoom: must be a number from 0 to {MAX_ZOOM}")
    return Viewport(bbox, None if zoom is None else float(zoom))
