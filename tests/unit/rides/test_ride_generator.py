"""ride_producer.generator: contract-valid rides, plausible durations, the comfort mix, broken records."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from geostream import contracts
from geostream.rides import price_record
from ride_producer.city import CITIES, NEW_YORK, city
from ride_producer.generator import ALIAS_OF, MALFORMED_KINDS, ROAD_FACTOR, malformed, ride, speed_kmh

RUSH = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 08:00 in New York
NIGHT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 03:00 in New York


@pytest.mark.parametrize("name", sorted(CITIES))
def test_rides_follow_the_contract_and_price(name):
    rng = random.Random(3)
    for _ in range(500):
        record = ride(rng, city(name), RUSH)
        contracts.check("rides_raw", record)
        assert price_record(orjson.dumps(record)).result is not None


def test_durations_follow_distance_and_traffic():
    rng = random.Random(4)
    for moment in (RUSH, NIGHT):
        local_hour = (moment.hour + NEW_YORK.utc_offset_h) % 24
        for _ in range(300):
            result = price_record(orjson.dumps(ride(rng, NEW_YORK, moment))).result
            travel_min = result["distance_km"] * ROAD_FACTOR / speed_kmh(local_hour) * 60
            assert 2 + travel_min * 0.85 - 0.05 <= result["duration_min"] <= 2 + travel_min * 1.25 + 0.05
    assert speed_kmh(8) < speed_kmh(12) < speed_kmh(3)


def test_comfort_mix_and_aliases():
    rng = random.Random(5)
    comforts = Counter(ride(rng, NEW_YORK, RUSH)["comfort"] for _ in range(5000))
    levels = Counter()
    for value, n in comforts.items():
        levels[{v: k for k, v in ALIAS_OF.items()}.get(value, value)] += n
    assert 0.55 < levels["low"] / 5000 < 0.65
    assert 0.05 < levels["high"] / 5000 < 0.15
    assert 0.15 < sum(comforts[a] for a in ALIAS_OF.values()) / 5000 < 0.25


def test_unknown_city_is_refused():
    with pytest.raises(ValueError, match="unknown city"):
        city("atlantis")


def test_malformed_records_reach_the_dlq_in_their_class():
    rng = random.Random(6)
    seen = set()
    for _ in range(400):
        kind, value = malformed(rng, ride(rng, NEW_YORK, RUSH))
        reason = price_record(value).reason
        assert reason is not None and reason.startswith(kind), (kind, reason)
        seen.add(kind)
    assert seen == set(MALFORMED_KINDS)
