"""The API mapping and enrichment on recorded Timeline API responses (written from the API's documented
response format: ``currentConditions``, ``days[].hours[]``, ``queryCost``, unit groups)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geostream import contracts
from weather_producer.observation import weather_message
from weather_producer.visual_crossing import ResponseError, observation

RESPONSES = Path(__file__).parent / "responses"


def load(name: str) -> dict:
    return json.loads((RESPONSES / name).read_text())


def test_metric_response_maps_to_the_contract():
    obs, forecast = observation(load("paris_metric.json"))
    message = weather_message("Paris", "FR", obs, "api")
    contracts.check("weather_data_v2", message)
    assert forecast
    assert message == {
        "city": "Paris",
        "country": "FR",
        "station_id": "LFPB",
        "timestamp": "2025-09-26T14:05:00Z",
        "temperature": 18.7,
        "humidity": 59.4,
        "wind_speed": 12.6,
        "precipitation": 0.0,
        "next_hour_temp": 18.1,
        "next_hour_precip": 0.0,
        "is_rain": 0,
        "is_storm": 0,
        "data_origin": "api",
    }


def test_us_units_are_normalised_and_thunder_with_rain_is_a_storm():
    obs, _ = observation(load("new_york_us_thunder.json"), unit_group="us")
    message = weather_message("New York", "US", obs, "api")
    contracts.check("weather_data_v2", message)
    assert message["timestamp"] == "2025-07-14T21:10:00Z"
    assert message["temperature"] == pytest.approx(28.0, abs=0.01)  # 82.4 F
    assert message["wind_speed"] == pytest.approx(24.14, abs=0.01)  # 15 mph in km/h
    assert message["precipitation"] == pytest.approx(8.89, abs=0.001)  # 0.35 in
    assert message["next_hour_temp"] == pytest.approx(26.0, abs=0.01)  # 78.8 F, the 18:00 record
    assert message["next_hour_precip"] == pytest.approx(3.048, abs=0.001)
    assert (message["is_rain"], message["is_storm"]) == (1, 1)
    assert message["station_id"] == "KNYC"


def test_missing_hours_and_nulls_fall_back_to_persistence_and_a_logical_station():
    obs, forecast = observation(load("london_no_hours_nulls.json"))
    message = weather_message("London", "GB", obs, "api")
    contracts.check("weather_data_v2", message)
    assert not forecast
    assert message["next_hour_temp"] == message["temperature"] == 3.1
    assert message["precipitation"] == 0.0
    assert message["station_id"] == "vc-gb-london"


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"currentConditions": None},
        {"currentConditions": {"datetimeEpoch": 1758895500, "humidity": 50}},
        {"currentConditions": {"datetimeEpoch": 1758895500, "temp": "warm", "humidity": 50}},
        {"currentConditions": {"datetimeEpoch": 1758895500, "temp": float("nan"), "humidity": 50}},
        {"currentConditions": {"datetimeEpoch": 1758895500, "temp": True, "humidity": 50}},
    ],
)
def test_unusable_responses_raise_a_named_error(broken):
    with pytest.raises(ResponseError):
        observation(broken)


def test_storm_force_wind_alone_is_a_storm():
    response = load("paris_metric.json")
    response["currentConditions"]["windspeed"] = 95.0
    obs, _ = observation(response)
    assert weather_message("Paris", "FR", obs, "api")["is_storm"] == 1
