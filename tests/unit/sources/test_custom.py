"""The devices' own JSON over MQTT."""

from __future__ import annotations

import orjson
import pytest

from geostream import contracts
from geostream.sources import RejectError, custom

NOW = 1_760_000_000_000


def run(doc, topic_id="dev-1"):
    payload = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    mapped = custom.map_message(payload, topic_id, now_ms=NOW)
    for point in mapped.points:
        contracts.check("locations_topic", point)
    return mapped


def test_contract_fields_pass_through():
    doc = {
        "vehicle_id": "vehicle_01",
        "ts": 1_700_000_000_123,
        "lon": 2.35,
        "lat": 48.85,
        "speed": 12.5,
        "heading": 270.0,
        "alt": 35.0,
        "accuracy": 4.0,
        "battery": 88.0,
        "source": "simulator",
        "seq": 17,
    }
    [point] = run(doc).points
    assert point == {k: v for k, v in doc.items() if k != "seq"}


def test_id_from_topic_time_in_seconds_and_aliases():
    [point] = run({"timestamp": 1_700_000_000, "longitude": 1, "latitude": 2}).points
    assert point == {"vehicle_id": "dev-1", "ts": 1_700_000_000_000, "lon": 1.0, "lat": 2.0, "source": "mqtt"}
    [point] = run({"vehicleID": 7, "lng": 1, "lat": 2, "source": "http"}).points
    assert (point["vehicle_id"], point["ts"], point["source"]) == ("7", NOW, "mqtt")


def test_zero_length_is_ignored():
    assert run(b"").ignored


@pytest.mark.parametrize(
    ("doc", "topic_id", "reason"),
    [
        (b"{nope", "d", "not JSON"),
        (b"[]", "d", "JSON object"),
        ({"lon": 1, "lat": 2}, None, "vehicle_id is missing"),
        ({"lon": 1}, "d", "lon and lat are required"),
        ({"lon": 1, "lat": 2, "speed": -3}, "d", "speed"),
        ({"lon": 1, "lat": 2, "ts": "tomorrow"}, "d", "ts"),
        ({"lon": 1, "lat": 2, "vehicle_id": ""}, "d", "vehicle_id"),
    ],
)
def test_rejects(doc, topic_id, reason):
    with pytest.raises(RejectError, match=reason):
        run(doc, topic_id)
