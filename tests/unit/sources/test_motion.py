"""The simulated vehicles move plausibly: bounded speed, acceleration and braking, stops, turns, noise."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from device_simulator.__main__ import device_ids
from device_simulator.motion import EARTH_M_PER_DEG, KMH, MotionConfig, Vehicle

CONFIG = MotionConfig()
DT = 0.5


def drive(seed: int, seconds: float, dt: float = DT):
    vehicle = Vehicle(CONFIG, random.Random(seed))
    states = []
    for _ in range(int(seconds / dt)):
        vehicle.step(dt)
        states.append((vehicle.speed, vehicle.true_xy(), vehicle.heading(), vehicle.fix()))
    return vehicle, states


@pytest.mark.parametrize("seed", range(5))
def test_speed_acceleration_and_position_stay_plausible(seed):
    _, states = drive(seed, 1800)
    speeds = [s for s, *_ in states]
    assert max(speeds) <= 120 * KMH + 1e-9 and min(speeds) >= 0
    for (v0, xy0, *_), (v1, xy1, *_) in itertools.pairwise(states):
        # accel 2.5 m/s2, braking 4 m/s2 (plus the clamp to the approach speed at an intersection)
        assert v1 - v0 <= CONFIG.accel_ms2 * DT + 1e-9
        moved = math.dist(xy0, xy1)
        assert moved <= (max(v0, v1) + CONFIG.accel_ms2 * DT) * DT  # no jumps
    limit = CONFIG.half_blocks * CONFIG.block_m
    assert all(abs(x) <= limit and abs(y) <= limit for _, (x, y), *_ in states)


def test_vehicles_stop_turn_and_change_speed():
    _, states = drive(7, 3600)
    speeds = [s for s, *_ in states]
    headings = {h for *_, h, _ in states}
    assert any(s == 0 for s in speeds[10:]), "stops at intersections"
    assert max(speeds) > 40 * KMH, "gets going on longer stretches"
    assert len(headings) >= 3, "turns"
    assert len({round(s, 1) for s in speeds}) > 50, "speed varies"


def test_the_fix_has_gaussian_noise_around_the_true_position():
    vehicle, _ = drive(3, 60)
    x, y = vehicle.true_xy()
    lat0 = CONFIG.center_lat + y / EARTH_M_PER_DEG
    lon0 = CONFIG.center_lon + x / (EARTH_M_PER_DEG * math.cos(math.radians(CONFIG.center_lat)))
    errors = []
    for _ in range(2000):
        fix = vehicle.fix()
        dy = (fix["lat"] - lat0) * EARTH_M_PER_DEG
        dx = (fix["lon"] - lon0) * EARTH_M_PER_DEG * math.cos(math.radians(CONFIG.center_lat))
        errors.append((dx, dy))
        assert 0 <= fix["speed"] <= 120 * KMH and 0 <= fix["heading"] < 360 and 0 <= fix["battery"] <= 100
    mean_x = sum(e[0] for e in errors) / len(errors)
    sd_x = math.sqrt(sum((e[0] - mean_x) ** 2 for e in errors) / len(errors))
    assert abs(mean_x) < 0.5 and 2.5 < sd_x < 3.5  # sigma 3 m, unbiased


def test_same_seed_same_route():
    assert drive(11, 120)[1] == drive(11, 120)[1]
    assert drive(11, 120)[1] != drive(12, 120)[1]


def test_device_ids_per_replica():
    assert device_ids("vehicle_{n:02d}", 10, "h")[::9] == ["vehicle_01", "vehicle_10"]
    assert device_ids("{host}-vehicle_{n:02d}", 2, "3f2a") == ["3f2a-vehicle_01", "3f2a-vehicle_02"]
    with pytest.raises(ValueError, match="not unique"):
        device_ids("{host}", 2, "h")
