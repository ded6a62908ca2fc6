"""The buoy simulator's model: valid prototype records, distinct ids, a moored drift, slow values."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from buoy_simulator.simulation import MOORING_RADIUS_M, fleet, offset
from geostream.sensors import Reading, ReadingRules, normalise

BANYULS = (42.4800, 3.1450)
START = datetime(2024, 1, 21, 10, 6, 4, 95931, tzinfo=UTC)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def run(seed: int, count: int = 3, seconds: int = 600, zone=UTC):
    rng = random.Random(seed)
    buoys = fleet("host", count, *BANYULS, 3.0, rng)
    records = []
    for second in range(seconds):
        now = START + timedelta(seconds=second)
        for buoy in buoys:
            buoy.step(1.0, rng)
            records.append(buoy.record(now, zone, rng, with_seq=True))
    return buoys, records


def test_records_are_the_prototype_format_and_pass_udp_ingest_validation():
    zone = ZoneInfo("Europe/Paris")
    _buoys, records = run(1, seconds=5, zone=zone)
    first = records[0]
    assert set(first) == {"timestamp", "temperature", "humidity", "pressure", "sensor_id", "location", "seq"}
    assert first["timestamp"] == "2024-01-21 11:06:04.095931"  # naive, in the buoy's zone
    for record in records:
        result = normalise(record, rules=ReadingRules(zone=zone))
        assert isinstance(result, Reading), result
    assert result.record["timestamp"] == "2024-01-21T10:06:08.095931Z"


def test_each_buoy_has_its_own_id_and_sequence():
    buoys, records = run(2, count=4, seconds=10)
    assert [b.sensor_id for b in buoys] == ["host-1", "host-2", "host-3", "host-4"]
    for buoy in buoys:
        assert [r["seq"] for r in records if r["sensor_id"] == buoy.sensor_id] == list(range(10))


def test_buoys_drift_around_their_home_near_banyuls():
    buoys, records = run(3, seconds=1800)
    for buoy in buoys:
        home = (buoy.home_lat, buoy.home_lon)
        assert distance_m(home, BANYULS) <= 3000.1
        track = [
            (r["location"]["lat"], r["location"]["lon"]) for r in records if r["sensor_id"] == buoy.sensor_id
        ]
        assert max(distance_m(home, p) for p in track) <= MOORING_RADIUS_M * math.sqrt(2) + 1
        assert len(set(track)) > 100  # it moves


def test_values_move_slowly_with_noise():
    _buoys, records = run(4, count=1, seconds=600)
    for name, max_step, max_range in (
        ("temperature", 0.5, 3.0),
        ("humidity", 2.0, 15.0),
        ("pressure", 0.5, 3.0),
    ):
        values = [r[name] for r in records]
        assert max(abs(a - b) for a, b in itertools.pairwise(values)) < max_step
        assert max(values) - min(values) < max_range
        assert len(set(values)) > 10  # noise: not a constant


def test_a_seed_replays_a_run_exactly():
    assert run(5, seconds=20)[1] == run(5, seconds=20)[1]


def test_offset_moves_by_metres():
    moved = offset(*BANYULS, east_m=1000.0, north_m=0.0)
    assert abs(distance_m(BANYULS, moved) - 1000.0) < 1.0
