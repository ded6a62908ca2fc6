"""Plausible buoys: a moored drift around a home position and slow sea-surface weather with noise.

Pure: every random draw comes from the ``random.Random`` passed in, so a seed replays a run exactly.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

EARTH_RADIUS_M = 6_371_000.0
MOORING_RADIUS_M = 150.0
"""A moored buoy swings around its anchor within roughly its chain's length."""


@dataclass
class Buoy:
    sensor_id: str
    home_lat: float
    home_lon: float
    east_m: float = 0.0
    north_m: float = 0.0
    velocity_east: float = 0.0
    velocity_north: float = 0.0
    temperature: float = 16.0
    humidity: float = 75.0
    pressure: float = 1013.0
    seq: int = 0
    phase: float = field(default=0.0)

    @classmethod
    def around(cls, sensor_id: str, lat: float, lon: float, spread_km: float, rng: random.Random) -> Buoy:
        """A buoy whose home is up to ``spread_km`` from (lat, lon), with its own starting weather."""
        distance = spread_km * 1000 * math.sqrt(rng.random())
        bearing = rng.uniform(0, 2 * math.pi)
        home_lat, home_lon = offset(lat, lon, distance * math.sin(bearing), distance * math.cos(bearing))
        return cls(
            sensor_id,
            home_lat,
            home_lon,
            temperature=rng.uniform(13.0, 22.0),
            humidity=rng.uniform(60.0, 90.0),
            pressure=rng.uniform(1005.0, 1022.0),
            phase=rng.uniform(0, 2 * math.pi),
        )

    def step(self, dt: float, rng: random.Random) -> None:
        """Advance ``dt`` seconds: current and wind push, the mooring pulls back, weather wanders slowly."""
        pull = 0.002  # 1/s: restoring pull of the mooring
        damping = 0.05
        for axis in ("east", "north"):
            position = getattr(self, f"{axis}_m")
            velocity = getattr(self, f"velocity_{axis}")
            velocity += (-pull * position - damping * velocity) * dt + rng.gauss(0, 0.02) * math.sqrt(dt)
            position += velocity * dt
            limit = MOORING_RADIUS_M
            position = max(-limit, min(limit, position))
            setattr(self, f"velocity_{axis}", velocity)
            setattr(self, f"{axis}_m", position)
        self.temperature = _wander(self.temperature, 16.0, 0.002, dt, rng, sigma=0.004, low=5.0, high=30.0)
        self.humidity = _wander(self.humidity, 75.0, 0.001, dt, rng, sigma=0.05, low=30.0, high=100.0)
        self.pressure = _wander(self.pressure, 1013.0, 0.0005, dt, rng, sigma=0.01, low=960.0, high=1050.0)

    def record(self, now: datetime, zone: tzinfo, rng: random.Random, with_seq: bool) -> dict:
        """The prototype's record: naive local timestamp, sensor noise on top of the slow values."""
        lat, lon = offset(self.home_lat, self.home_lon, self.east_m, self.north_m)
        diurnal = 0.3 * math.sin(2 * math.pi * (now.hour * 3600 + now.minute * 60) / 86_400 + self.phase)
        record = {
            "timestamp": now.astimezone(zone)
            .replace(tzinfo=None)
            .isoformat(sep=" ", timespec="microseconds"),
            "temperature": round(self.temperature + diurnal + rng.gauss(0, 0.03), 2),
            "humidity": round(min(100.0, max(0.0, self.humidity + rng.gauss(0, 0.3))), 2),
            "pressure": round(self.pressure + rng.gauss(0, 0.05), 2),
            "sensor_id": self.sensor_id,
            "location": {"lon": round(lon, 6), "lat": round(lat, 6)},
        }
        if with_seq:
            record["seq"] = self.seq
        self.seq += 1
        return record


def _wander(
    value: float,
    mean: float,
    reversion: float,
    dt: float,
    rng: random.Random,
    *,
    sigma: float,
    low: float,
    high: float,
) -> float:
    """Ornstein-Uhlenbeck step: slow random walk that drifts back toward ``mean``."""
    value += reversion * (mean - value) * dt + rng.gauss(0, sigma) * math.sqrt(dt)
    return max(low, min(high, value))


def offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """(lat, lon) moved ``east_m`` / ``north_m`` metres (flat-earth approximation, fine for kilometres)."""
    new_lat = lat + math.degrees(north_m / EARTH_RADIUS_M)
    new_lon = lon + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return new_lat, new_lon


def fleet(
    prefix: str, count: int, lat: float, lon: float, spread_km: float, rng: random.Random
) -> list[Buoy]:
    return [Buoy.around(f"{prefix}-{n}", lat, lon, spread_km, rng) for n in range(1, count + 1)]
