"""Protocol v2 wire format: the shared test vectors, negotiation, hello and heartbeat frames."""

from __future__ import annotations

import math
import struct

import orjson
import pytest
from protocol_v2_vectors import SERVER_TIME, VECTORS, VECTORS_DIR, encode, expected

from ws_relay.protocol_v2 import (
    Block,
    Format,
    FrameError,
    Kind,
    Negotiated,
    NegotiationError,
    decode_frame,
    encode_frame,
    encode_strings,
    heartbeat,
    hello,
    negotiate,
)
from ws_relay.table import Entry


def read_by_spec(data: bytes) -> dict:
    """A decoder written from the spec's table alone (not the relay's), to check the vectors."""
    assert data[:4] == b"GSF1"
    kind, flags, reserved = data[4], data[5], int.from_bytes(data[6:8], "little")
    assert (flags, reserved) == (0, 0)
    n, s = int.from_bytes(data[8:12], "little"), int.from_bytes(data[12:16], "little")
    assert len(data) == 24 + 40 * n + s
    (server_time,) = struct.unpack("<d", data[16:24])

    def column(offset: int, code: str) -> list[float]:
        size = 8 if code == "d" else 4
        return [
            struct.unpack(f"<{code}", data[offset + i * size : offset + (i + 1) * size])[0] for i in range(n)
        ]

    lon, lat, ts = column(24, "d"), column(24 + 8 * n, "d"), column(24 + 16 * n, "d")
    speed, heading = column(24 + 24 * n, "f"), column(24 + 28 * n, "f")
    alt, battery = column(24 + 32 * n, "f"), column(24 + 36 * n, "f")
    pos = 24 + 40 * n
    ids, sources = [], []
    for _ in range(n):
        length = int.from_bytes(data[pos : pos + 2], "little")
        ids.append(data[pos + 2 : pos + 2 + length].decode("utf-8"))
        pos += 2 + length
        ids_source = data[pos + 1 : pos + 1 + data[pos]].decode("utf-8")
        sources.append(ids_source or None)
        pos += 1 + data[pos]
    assert pos == len(data)

    def known(x: float) -> float | None:
        return None if math.isnan(x) else x

    body: dict = {"type": {1: "snapshot", 2: "update", 3: "remove"}[kind], "server_time": int(server_time)}
    if kind == 3:
        assert all(math.isnan(x) for col in (lon, lat, ts, speed, heading, alt, battery) for x in col)
        assert sources == [None] * n
        body["ids"] = ids
    else:
        body["vehicles"] = [
            {"vehicle_id": ids[i], "ts": int(ts[i]), "lon": lon[i], "lat": lat[i], "speed": known(speed[i]),
             "heading": known(heading[i]), "alt": known(alt[i]), "battery": known(battery[i]),
             "source": sources[i]}
            for i in range(n)
        ]  # fmt: skip
    return body


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_vectors_on_disk_decode_to_their_json(name):
    data = (VECTORS_DIR / f"{name}.bin").read_bytes()
    assert read_by_spec(data) == orjson.loads((VECTORS_DIR / f"{name}.json").read_bytes()) == expected(name)


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_the_encoder_writes_the_vectors_byte_for_byte(name):
    assert encode(name) == (VECTORS_DIR / f"{name}.bin").read_bytes()


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_the_relays_decoder_reads_the_vectors(name):
    frame = decode_frame((VECTORS_DIR / f"{name}.bin").read_bytes())
    assert frame.server_time == SERVER_TIME
    assert frame.kind.name.lower() == VECTORS[name]["type"]
    if frame.kind is Kind.REMOVE:
        assert [v["vehicle_id"] for v in frame.vehicles] == VECTORS[name]["ids"]
    else:
        assert [v["vehicle_id"] for v in frame.vehicles] == [
            p["vehicle_id"] for p in VECTORS[name]["vehicles"]
        ]


def test_a_decoder_rejects_any_other_length():
    data = (VECTORS_DIR / "update-two-vehicles.bin").read_bytes()
    for bad in (data[:-1], data + b"\0", data[:23], b"GSF2" + data[4:]):
        with pytest.raises(FrameError):
            decode_frame(bad)
    # The count says one vehicle more than the columns hold.
    with pytest.raises(FrameError):
        decode_frame(data[:8] + struct.pack("<I", 3) + data[12:])


def entry(vid: str, lon: float, source: str | None = None, **numbers: float) -> Entry:
    json = orjson.dumps({"vehicle_id": vid, "ts": 5, "lon": lon, "lat": 1.0, **numbers})
    fields = [numbers.get(k, math.nan) for k in ("speed", "heading", "alt", "battery")]
    return Entry(0, lon, 1.0, 5, 0, json, vid, *fields, encode_strings(vid, source))


def test_json_frames_carry_server_time_and_the_points_verbatim():
    a, b = entry("a", 1.0, speed=2.0), entry("b", 2.0, "http", battery=50.0)
    frame = encode_frame(Kind.UPDATE, Format.JSON, 123, [Block([a]), Block([]), Block([b])])
    assert orjson.loads(frame) == {"type": "update", "server_time": 123, "vehicles": [orjson.loads(a.json),
                                   orjson.loads(b.json)]}  # fmt: skip
    remove = encode_frame(Kind.REMOVE, Format.JSON, 9, [Block(ids=["x", "é"])])
    assert orjson.loads(remove) == {"type": "remove", "server_time": 9, "ids": ["x", "é"]}
    assert orjson.loads(encode_frame(Kind.SNAPSHOT, Format.JSON, 1, [])) == {
        "type": "snapshot",
        "server_time": 1,
        "vehicles": [],
    }


def test_binary_frames_join_blocks_column_by_column():
    blocks = [Block([entry("a", 1.0, "mqtt", speed=1.5)]), Block([entry("b", 2.0), entry("c", 3.0, alt=7.0)])]
    decoded = decode_frame(encode_frame(Kind.SNAPSHOT, Format.BIN, 77, blocks))
    assert [(v["vehicle_id"], v["lon"], v["source"]) for v in decoded.vehicles] == [
        ("a", 1.0, "mqtt"),
        ("b", 2.0, ""),
        ("c", 3.0, ""),
    ]
    assert decoded.vehicles[0]["speed"] == 1.5 and math.isnan(decoded.vehicles[1]["speed"])
    assert decoded.vehicles[2]["alt"] == 7.0


def test_a_block_is_encoded_once_per_format():
    block = Block([entry("a", 1.0)])
    assert block.columns() is block.columns()
    assert block.json() is block.json()


def test_source_is_cut_on_a_character_boundary():
    record = encode_strings("v", "é" * 200)
    assert record[3] == 254 and record[4:].decode() == "é" * 127


@pytest.mark.parametrize(
    ("path", "negotiated"),
    [
        ("/", Negotiated(1)),
        ("/?bbox=1,2,3,4", Negotiated(1)),
        ("/?v=1", Negotiated(1)),
        ("/?v=2&format=bin", Negotiated(2, Format.BIN)),
        ("/?format=json&v=2&token=x", Negotiated(2, Format.JSON)),
        ("/?v=2", Negotiated(2, Format.JSON)),
    ],
)
def test_negotiation_in_the_url(path, negotiated):
    assert negotiate(path) == negotiated


@pytest.mark.parametrize("path", ["/?v=3", "/?v=2&format=xml", "/?v=two"])
def test_unknown_versions_and_formats_are_refused(path):
    with pytest.raises(NegotiationError):
        negotiate(path)


def test_hello_and_heartbeat():
    assert orjson.loads(hello(Format.BIN, 1000, 100, 5.0, 600.0)) == {
        "type": "hello",
        "protocol": 2,
        "format": "bin",
        "server_time": 1000,
        "frame_interval_ms": 100,
        "heartbeat_s": 5,
        "vehicle_ttl_s": 600,
    }
    assert orjson.loads(hello(Format.JSON, 1, 50, 2.5, 30))["format"] == "json"
    assert orjson.loads(heartbeat(42)) == {"type": "heartbeat", "server_time": 42}
