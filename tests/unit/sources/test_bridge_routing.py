"""mqtt-bridge routing: topic filters, the vehicle id a topic names, which mapper reads a payload."""

from __future__ import annotations

import pytest

from geostream.sources import RejectError
from mqtt_bridge.routing import TopicFilter, map_publish, parse_filters, topic_vehicle_id

FILTERS = parse_filters("owntracks/+/+,devices/+/location,fleet/#")


@pytest.mark.parametrize(
    ("topic", "vehicle_id"),
    [
        ("owntracks/jane/phone", "jane/phone"),
        ("devices/truck-1/location", "truck-1"),
        ("devices/truck-1/status", None),
        ("fleet/a/b", None),
        ("devices//location", None),
    ],
)
def test_topic_vehicle_id(topic, vehicle_id):
    assert topic_vehicle_id(FILTERS, topic) == vehicle_id


@pytest.mark.parametrize("text", ["a/#/b", "a/b+", "", "$share/g/a", "a/#x"])
def test_invalid_filters(text):
    with pytest.raises(ValueError):
        TopicFilter.parse(text)


def publish(topic: str, payload: bytes):
    return map_publish(
        topic, payload, FILTERS, now_ms=1_760_000_000_000, secret=None, max_future_ms=86_400_000
    )


def test_owntracks_on_any_base_topic_and_device_json():
    [point] = publish(
        "devices/p1/location", b'{"_type":"location","lat":1,"lon":2,"tst":1700000000,"vel":36}'
    ).points
    assert (point["vehicle_id"], point["speed"], point["source"]) == ("p1", 10.0, "owntracks")
    [point] = publish("devices/p1/location", b'{"lat":1,"lon":2,"ts":1700000000,"speed":36}').points
    assert (point["vehicle_id"], point["speed"], point["source"]) == ("p1", 36.0, "mqtt")
    assert publish("owntracks/a/b", b"").ignored
    with pytest.raises(RejectError, match="names no device"):
        publish("fleet/x", b'{"_type":"location","lat":1,"lon":2,"tst":1700000000}')
