import json

import pytest

from geostream import contracts
from geostream.topics import ALL_TOPICS

VALID = {
    "locations_topic": {
        "vehicle_id": "v1",
        "ts": 1693564800000,
        "lon": 1.5,
        "lat": 2.5,
        "speed": None,
        "source": "http",
    },
    "websocket_updates_topic": {
        "vehicle_id": "v1",
        "ts": 1693564800000,
        "lon": 1.5,
        "lat": 2.5,
        "heading": 90,
    },
    "locations_dlq": {
        "reason": "latitude 95 outside [-90, 90]",
        "source": "flink-job",
        "original": "{}",
        "ts": 1,
    },
    "weather_data_v2": {
        "city": "Paris",
        "country": "FR",
        "station_id": "paris-agg",
        "timestamp": "2025-09-26T14:05:00Z",
        "temperature": 18.5,
        "humidity": 60,
        "wind_speed": 12,
        "precipitation": 0,
        "next_hour_temp": 18,
        "next_hour_precip": 0,
        "is_rain": 0,
        "is_storm": 0,
        "data_origin": "simulated",
    },
    "sensor_readings": {
        "timestamp": "2024-01-21 10:06:04.095931",
        "temperature": 20.9,
        "humidity": 59.22,
        "pressure": 1001.87,
        "sensor_id": 1,
        "location": {"lon": 3.185785, "lat": 42.488629},
    },
    "rides_raw": {
        "ride_id": "4f0c1c52-8e7a-4d0e-9a55-3f1c7b1f0a11",
        "ts": "2025-01-01T10:00:00Z",
        "origin": {"lat": 48.85, "lon": 2.35},
        "destination": {"lat": 48.86, "lon": 2.29},
        "comfort": "eco",
        "duration_min": 12,
        "price_base": 2.5,
        "price_per_km": 1.1,
        "price_per_min": 0.3,
        "promo": "ignored",
    },
    "rides_dlq": {"reason": "invalid JSON", "source": "flink-job", "original": "{", "ts": 1},
}
VALID["rides_result"] = {**VALID["rides_raw"], "comfort": "low", "distance_km": 4.6, "price_total": 11.16}


def test_every_topic_has_a_schema_and_every_schema_a_topic():
    assert contracts.topics_with_schema() == sorted(t.name for t in ALL_TOPICS)


@pytest.mark.parametrize("topic", sorted(VALID))
def test_schemas_are_valid_and_accept_their_example(topic):
    contracts.check(topic, VALID[topic])
    json.dumps(contracts.schema(topic))


@pytest.mark.parametrize(
    ("topic", "change", "field"),
    [
        ("locations_topic", {"lat": 91}, "lat"),
        ("locations_topic", {"ts": "yesterday"}, "ts"),
        ("locations_topic", {"vehicle_id": ""}, "vehicle_id"),
        ("locations_topic", {"source": "fax"}, "source"),
        ("locations_topic", {"extra": 1}, ""),
        ("weather_data_v2", {"timestamp": "26/09/2025"}, "timestamp"),
        ("weather_data_v2", {"is_rain": 2}, "is_rain"),
        ("rides_raw", {"ride_id": "not-a-uuid"}, "ride_id"),
        ("rides_raw", {"comfort": "luxury"}, "comfort"),
        ("rides_result", {"comfort": "eco"}, "comfort"),
        ("sensor_readings", {"location": {"lon": 3}}, "location"),
    ],
)
def test_breaking_a_field_names_it(topic, change, field):
    message = {**VALID[topic], **change}
    with pytest.raises(contracts.ContractError) as info:
        contracts.check(topic, message)
    assert field in [e.field for e in info.value.errors]
    assert not contracts.is_valid(topic, message)


def test_missing_required_field_is_explained():
    message = dict(VALID["locations_topic"])
    del message["lon"]
    assert [str(e) for e in contracts.errors("locations_topic", message)] == ["'lon' is a required property"]
