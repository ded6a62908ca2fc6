"""Live feed protocol v2 (pure, no I/O): the hello, heartbeat, JSON and binary data frames.

A client asks for it in the URL, ``?v=2&format=bin`` or ``?v=2&format=json``; the spec is in
``services/ws-relay/README.md`` ("Protocol v2"). Binary frames, little-endian::

    0   4   magic "GSF1"          12  4   u32 byte length S of the string section
    4   1   kind 1/2/3            16  8   f64 server_time (epoch ms)
    5   1   flags (0)             24  8N  f64 lon[N], then f64 lat[N], f64 ts[N]
    6   2   reserved (0)          ..  4N  f32 speed[N], heading[N], alt[N], battery[N] (NaN = unknown)
    8   4   u32 count N           ..  S   per vehicle: u16 id length, id UTF-8, u8 source length, source

Frames are assembled from :class:`Block` objects, one per tile and tick: a block encodes its points'
columns once, whatever the number of clients and frames it ends up in.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from ws_relay.table import Entry

PROTOCOL = 2
MAGIC = b"GSF1"
HEADER = struct.Struct("<4sBBHIId")
MAX_ID_BYTES = 0xFFFF
MAX_SOURCE_BYTES = 0xFF
NAN = math.nan
_NAN_F64 = struct.pack("<d", NAN)
_NAN_F32 = struct.pack("<f", NAN)


class Kind(IntEnum):
    SNAPSHOT = 1
    UPDATE = 2
    REMOVE = 3


class Format(IntEnum):
    JSON = 0
    BIN = 1


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the connection URL asked for: ``version`` 1 (today's JSON feed) or 2, and v2's format."""

    version: int
    format: Format = Format.JSON


class NegotiationError(ValueError):
    pass


def negotiate(path: str) -> Negotiated:
    """``?v=2&format=bin|json`` -> v2; no ``v`` (or ``v=1``) -> v1; anything else is refused (400)."""
    query = parse_qs(urlsplit(path).query)
    version = query.get("v", ["1"])[-1]
    if version == "1":
        return Negotiated(1)
    if version != "2":
        raise NegotiationError(f"unsupported protocol version {version[:10]!r}; use v=2 (or none for v1)")
    fmt = query.get("format", ["json"])[-1]
    if fmt not in ("bin", "json"):
        raise NegotiationError(f"unsupported format {fmt[:10]!r}; use format=bin or format=json")
    return Negotiated(2, Format.BIN if fmt == "bin" else Format.JSON)


def hello(fmt: Format, server_time: int, frame_interval_ms: int, heartbeat_s: float, ttl_s: float) -> bytes:
    return orjson.dumps(
        {
            "type": "hello",
            "protocol": PROTOCOL,
            "format": "bin" if fmt is Format.BIN else "json",
            "server_time": server_time,
            "frame_interval_ms": frame_interval_ms,
            "heartbeat_s": _plain(heartbeat_s),
            "vehicle_ttl_s": _plain(ttl_s),
        }
    )


def heartbeat(server_time: int) -> bytes:
    return b'{"type":"heartbeat","server_time":%d}' % server_time


def _plain(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def number_or_nan(value: Any) -> float:
    return NAN if value is None else float(value)


def encode_strings(vehicle_id: str, source: str | None) -> bytes:
    """One vehicle's record of the string section: u16 id length, id, u8 source length, source (cut
    to 255 bytes on a character boundary; the contract allows 64 characters)."""
    vid = vehicle_id.encode()
    if len(vid) > MAX_ID_BYTES:
        raise ValueError("vehicle id too long for a binary frame")
    src = (source or "").encode()
    if len(src) > MAX_SOURCE_BYTES:
        src = src[:MAX_SOURCE_BYTES].decode(errors="ignore").encode()
    return struct.pack("<H", len(vid)) + vid + struct.pack("<B", len(src)) + src


class Block:
    """The points (or removed ids) of one tile in one tick, encoded at most once per format."""

    __slots__ = ("_bin", "_json", "entries", "ids", "removal")

    def __init__(self, entries: Sequence[Entry] = (), ids: Sequence[str] = ()):
        self.entries = entries
        self.ids = ids
        """Removed vehicle ids (a remove block has ids and no entries)."""
        self.removal = bool(ids)
        self._json: bytes | None = None
        self._bin: tuple[bytes, ...] | None = None

    def __len__(self) -> int:
        return len(self.ids) if self.removal else len(self.entries)

    def json(self) -> bytes:
        """Comma-joined JSON of the points (or of the ids)."""
        if self._json is None:
            if self.removal:
                self._json = b",".join(map(orjson.dumps, self.ids))
            else:
                self._json = b",".join(e.json for e in self.entries)
        return self._json

    def columns(self) -> tuple[bytes, ...]:
        """The 8 binary sections: lon, lat, ts, speed, heading, alt, battery, strings."""
        if self._bin is None:
            self._bin = _remove_columns(self.ids) if self.removal else _point_columns(self.entries)
        return self._bin


def _point_columns(entries: Sequence[Entry]) -> tuple[bytes, ...]:
    n = len(entries)
    f64, f32 = f"<{n}d", f"<{n}f"
    return (
        struct.pack(f64, *[e.lon for e in entries]),
        struct.pack(f64, *[e.lat for e in entries]),
        struct.pack(f64, *[e.ts for e in entries]),
        struct.pack(f32, *[e.speed for e in entries]),
        struct.pack(f32, *[e.heading for e in entries]),
        struct.pack(f32, *[e.alt for e in entries]),
        struct.pack(f32, *[e.battery for e in entries]),
        b"".join(e.strings or encode_strings(e.vehicle_id, None) for e in entries),
    )


def _remove_columns(ids: Sequence[str]) -> tuple[bytes, ...]:
    n = len(ids)
    f64, f32 = _NAN_F64 * n, _NAN_F32 * n
    return (f64, f64, f64, f32, f32, f32, f32, b"".join(encode_strings(i, None) for i in ids))


_JSON_HEADS = {
    Kind.SNAPSHOT: b'{"type":"snapshot","server_time":%d,"vehicles":[',
    Kind.UPDATE: b'{"type":"update","server_time":%d,"vehicles":[',
    Kind.REMOVE: b'{"type":"remove","server_time":%d,"ids":[',
}


def encode_frame(kind: Kind, fmt: Format, server_time: int, blocks: Iterable[Block]) -> bytes:
    """One frame holding every block's points (or ids), in the client's format."""
    blocks = [b for b in blocks if len(b)]
    if fmt is Format.JSON:
        return (_JSON_HEADS[kind] % server_time) + b",".join(b.json() for b in blocks) + b"]}"
    count = sum(map(len, blocks))
    columns = [b.columns() for b in blocks]
    strings = b"".join(c[7] for c in columns)
    head = HEADER.pack(MAGIC, kind, 0, 0, count, len(strings), float(server_time))
    return head + b"".join(c[i] for i in range(7) for c in columns) + strings


@dataclass(frozen=True)
class DecodedFrame:
    kind: Kind
    server_time: float
    vehicles: list[dict[str, Any]]
    """Points (snapshot, update) or ``{"vehicle_id": id}`` (remove); unknown numbers are NaN."""


class FrameError(ValueError):
    pass


def decode_frame(data: bytes) -> DecodedFrame:
    """A binary frame -> its points; raises :class:`FrameError` on anything not exactly to spec."""
    if len(data) < HEADER.size:
        raise FrameError("shorter than the header")
    magic, kind, _flags, _reserved, n, s, server_time = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FrameError("bad magic")
    if kind not in (1, 2, 3):
        raise FrameError(f"unknown kind {kind}")
    if len(data) != HEADER.size + 40 * n + s:
        raise FrameError("length does not match count and string section")
    off = HEADER.size
    cols = []
    for fmt, width in (("d", 8),) * 3 + (("f", 4),) * 4:
        cols.append(struct.unpack_from(f"<{n}{fmt}", data, off))
        off += width * n
    vehicles = []
    end = off + s
    for i in range(n):
        if off + 2 > end:
            raise FrameError("string section too short")
        (id_len,) = struct.unpack_from("<H", data, off)
        off += 2
        vid = data[off : off + id_len].decode()
        off += id_len
        if off + 1 > end:
            raise FrameError("string section too short")
        src_len = data[off]
        off += 1
        source = data[off : off + src_len].decode()
        off += src_len
        if off > end:
            raise FrameError("string section too short")
        lon, lat, ts, speed, heading, alt, battery = (c[i] for c in cols)
        vehicles.append(
            {"vehicle_id": vid, "ts": ts, "lon": lon, "lat": lat, "speed": speed, "heading": heading,
             "alt": alt, "battery": battery, "source": source}
        )  # fmt: skip
    if off != end:
        raise FrameError("string section longer than its records")
    return DecodedFrame(Kind(kind), server_time, vehicles)
