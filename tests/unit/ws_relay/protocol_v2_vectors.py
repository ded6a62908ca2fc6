"""The shared test vectors of live feed protocol v2: ``tests/static/protocol-v2/<name>.bin`` and the
``<name>.json`` each decodes to. The relay's tests and the map's vitest decoder tests both read them.

Regenerate (only when the spec changes): ``python tests/unit/ws_relay/protocol_v2_vectors.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
VECTORS_DIR = ROOT / "tests" / "static" / "protocol-v2"
SERVER_TIME = 1764590400123

FULL = {"vehicle_id": "bus-7", "ts": 1764590399000, "lon": 2.3522, "lat": 48.8566, "speed": 12.5,
        "heading": 90.25, "alt": 35.5, "battery": 87.5, "source": "owntracks"}  # fmt: skip
WEST = {"vehicle_id": "ship-east", "ts": 1764590398500, "lon": -179.999, "lat": -16.5, "speed": 0.0,
        "heading": 359.5, "alt": -2.0, "battery": 100.0, "source": "mqtt"}  # fmt: skip
UNKNOWNS = {"vehicle_id": "tracker-0001", "ts": 1764590390000, "lon": 180.0, "lat": -90.0, "speed": None,
            "heading": None, "alt": None, "battery": None, "source": None}  # fmt: skip
PARTIAL = {"vehicle_id": "van-3", "ts": 0, "lon": -0.1278, "lat": 51.5074, "speed": 3.75, "heading": None,
           "alt": None, "battery": 12.0, "source": "http"}  # fmt: skip
UNICODE = [
    {"vehicle_id": "tram-Zürich-11", "ts": 1764590400000, "lon": 8.5417, "lat": 47.3769, "speed": 8.0,
     "heading": 180.0, "alt": 408.0, "battery": None, "source": "simulator"},
    {"vehicle_id": "列車-42", "ts": 1764590400001, "lon": 139.7671, "lat": 35.6812, "speed": None,
     "heading": 45.0, "alt": None, "battery": 55.5, "source": "dataset"},
    {"vehicle_id": "🚌 night-line", "ts": 1764590400002, "lon": -58.3816, "lat": -34.6037, "speed": 0.5,
     "heading": None, "alt": 25.0, "battery": None, "source": "osmand"},
]  # fmt: skip

VECTORS: dict[str, dict[str, Any]] = {
    "update-two-vehicles": {"type": "update", "vehicles": [FULL, WEST]},
    "snapshot-unknown-fields": {"type": "snapshot", "vehicles": [UNKNOWNS, PARTIAL]},
    "update-non-ascii-ids": {"type": "update", "vehicles": UNICODE},
    "remove": {"type": "remove", "ids": ["bus-7", "ÖBB-1", "🚌 night-line"]},
    "snapshot-empty": {"type": "snapshot", "vehicles": []},
}


def expected(name: str) -> dict[str, Any]:
    """The decoded content of a vector: unknown numbers and an empty source are null."""
    body = VECTORS[name]
    rest = {k: v for k, v in body.items() if k != "type"}
    return {"type": body["type"], "server_time": SERVER_TIME, **rest}


def encode(name: str) -> bytes:
    from ws_relay.protocol_v2 import Block, Format, Kind, encode_frame, encode_strings, number_or_nan
    from ws_relay.table import Entry

    body = VECTORS[name]
    kind = {"snapshot": Kind.SNAPSHOT, "update": Kind.UPDATE, "remove": Kind.REMOVE}[body["type"]]
    if kind is Kind.REMOVE:
        block = Block(ids=body["ids"])
    else:
        numbers = ("speed", "heading", "alt", "battery")
        block = Block(
            [
                Entry(
                    0,
                    p["lon"],
                    p["lat"],
                    p["ts"],
                    0,
                    b"",
                    p["vehicle_id"],
                    *(number_or_nan(p[k]) for k in numbers),
                    encode_strings(p["vehicle_id"], p["source"]),
                )
                for p in body["vehicles"]
            ]
        )
    return encode_frame(kind, Format.BIN, SERVER_TIME, [block])


def write() -> None:
    import orjson

    VECTORS_DIR.mkdir(parents=True, exist_ok=True)
    for name in VECTORS:
        (VECTORS_DIR / f"{name}.bin").write_bytes(encode(name))
        decoded = orjson.dumps(expected(name), option=orjson.OPT_INDENT_2)
        (VECTORS_DIR / f"{name}.json").write_bytes(decoded + b"\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "services" / "ws-relay"))
    sys.path.insert(0, str(ROOT / "services" / "geostream"))
    write()
