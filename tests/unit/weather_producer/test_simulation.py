"""Simulation properties: physical ranges, storms imply rain, every message meets the contract."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from geostream import contracts
from weather_producer.cities import KNOWN, TEMPERATE, City, parse_cities
from weather_producer.observation import weather_message
from weather_producer.simulation import CitySimulator

CITIES = [City(name.title(), "XX", climate) for name, climate in KNOWN.items()] + [
    City("Nowhere", "XX", TEMPERATE)
]


@settings(max_examples=60, deadline=None)
@given(
    city=st.sampled_from(CITIES),
    seed=st.integers(0, 2**32),
    start=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    step_s=st.integers(1, 3 * 3600),
)
def test_simulated_values_are_physical_and_storms_imply_rain(city, seed, start, step_s):
    sim = CitySimulator(city, random.Random(seed))
    for i in range(48):
        obs = sim.observe(start + timedelta(seconds=i * step_s))
        message = weather_message(city.name, city.country, obs, "simulated")
        contracts.check("weather_data_v2", message)
        assert -40 <= message["temperature"] <= 50
        assert 0 <= message["humidity"] <= 100
        assert 0 <= message["wind_speed"] < 150
        assert 0 <= message["precipitation"] < 200
        if message["is_storm"]:
            assert message["is_rain"] == 1
        assert message["is_rain"] == int(message["precipitation"] > 0)


def test_a_month_of_hours_has_rain_near_the_climate_share_and_a_diurnal_cycle():
    paris = parse_cities("Paris:FR")[0]
    sim = CitySimulator(paris, random.Random(7))
    start = datetime(2025, 7, 1, tzinfo=UTC)
    messages = [
        weather_message("Paris", "FR", sim.observe(start + timedelta(hours=h)), "simulated")
        for h in range(24 * 60)
    ]
    rainy = sum(m["is_rain"] for m in messages) / len(messages)
    assert 0.02 < rainy < 0.2
    by_hour = {h: [m["temperature"] for m in messages[h::24]] for h in range(24)}
    mean = {h: sum(v) / len(v) for h, v in by_hour.items()}
    assert mean[15] - mean[5] > 4  # afternoon warmer than dawn (UTC ~ solar time in Paris within an hour)


def test_cities_spec():
    cities = parse_cities(" Paris:fr , New York:US")
    assert [(c.name, c.country) for c in cities] == [("Paris", "FR"), ("New York", "US")]
    assert cities[1].query == "New York,US"
