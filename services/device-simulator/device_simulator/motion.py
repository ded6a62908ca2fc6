"""Vehicle motion on a street grid: acceleration, braking before turns and stops, target-speed changes,
Gaussian noise on what the device reports. Pure computation (a seeded ``random.Random``), no I/O.

The streets form a square grid around a centre (blocks of ``block_m``); every 4th street is an arterial
(90 km/h), every 8th an expressway (120 km/h), the others are local streets (50 km/h). At each
intersection a vehicle goes straight or turns (never back, unless at the edge of the map) and sometimes
has to stop (a red light, a stop sign). It brakes in time to reach a turn at ``turn_speed_kmh`` and a
stop at zero, changes its target speed now and then, and never exceeds 120 km/h.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

KMH = 1 / 3.6
EARTH_M_PER_DEG = 111_320.0
MAX_SUBSTEP_S = 0.25
DIRECTIONS = ((0, 1), (1, 0), (0, -1), (-1, 0))  # north, east, south, west: index * 90 = heading


@dataclass(frozen=True)
class MotionConfig:
    center_lat: float = 48.8566
    center_lon: float = 2.3522
    radius_m: float = 5000.0
    block_m: float = 250.0
    max_speed_kmh: float = 120.0
    accel_ms2: float = 2.5
    brake_ms2: float = 4.0
    turn_speed_kmh: float = 20.0
    straight_probability: float = 0.6
    stop_probability: float = 0.15
    stop_seconds: tuple[float, float] = (2.0, 20.0)
    target_change_every_s: float = 20.0
    speed_noise_ms: float = 0.3
    gps_noise_m: float = 3.0

    @property
    def half_blocks(self) -> int:
        return max(1, int(self.radius_m // self.block_m))


def street_limit_kmh(line: int) -> float:
    if line % 8 == 0:
        return 120.0
    if line % 4 == 0:
        return 90.0
    return 50.0


class Vehicle:
    """True state on the grid (``step``) and the noisy fix a GPS device reports (``fix``)."""

    def __init__(self, config: MotionConfig, rng: random.Random):
        self.config = config
        self.rng = rng
        k = config.half_blocks
        self.node = (rng.randint(-k, k), rng.randint(-k, k))
        self.direction = rng.randrange(4)
        if not self._inside(self._ahead(self.node, self.direction)):
            self.direction = (self.direction + 2) % 4
        self.position_m = 0.0  # along the current edge, from self.node
        self.speed = 0.0  # m/s
        self.target = self._limit() * rng.uniform(0.6, 1.0)
        self.stopped_for = 0.0
        self._plan_next()
        self.alt = rng.uniform(30.0, 60.0)
        self.battery = rng.uniform(60.0, 100.0)
        self.charging = False

    # --- the grid ---------------------------------------------------------------------------
    def _inside(self, node: tuple[int, int]) -> bool:
        k = self.config.half_blocks
        return -k <= node[0] <= k and -k <= node[1] <= k

    @staticmethod
    def _ahead(node: tuple[int, int], direction: int) -> tuple[int, int]:
        dx, dy = DIRECTIONS[direction]
        return node[0] + dx, node[1] + dy

    def _limit(self, direction: int | None = None, node: tuple[int, int] | None = None) -> float:
        """Speed limit (m/s) of the street leaving ``node`` in ``direction``."""
        direction = self.direction if direction is None else direction
        node = self.node if node is None else node
        line = node[0] if direction in (0, 2) else node[1]  # north-south streets are x = const
        return street_limit_kmh(line) * KMH

    def _plan_next(self) -> None:
        """At the end of the current edge: which way next, and whether to stop there first."""
        end = self._ahead(self.node, self.direction)
        options = [d for d in range(4) if d != (self.direction + 2) % 4 and self._inside(self._ahead(end, d))]
        if not options:
            options = [(self.direction + 2) % 4]
        if self.direction in options and self.rng.random() < self.config.straight_probability:
            self.next_direction = self.direction
        else:
            turns = [d for d in options if d != self.direction] or options
            self.next_direction = self.rng.choice(turns)
        self.stop_next = self.rng.random() < self.config.stop_probability

    def _approach_speed(self) -> float:
        """The speed the vehicle may have when it reaches the end of the current edge."""
        if self.stop_next:
            return 0.0
        if self.next_direction != self.direction:
            return self.config.turn_speed_kmh * KMH
        return self._limit(self.next_direction, self._ahead(self.node, self.direction))

    # --- motion -----------------------------------------------------------------------------
    def step(self, dt: float) -> None:
        while dt > 1e-9:
            sub = min(dt, MAX_SUBSTEP_S)
            self._substep(sub)
            dt -= sub

    def _substep(self, dt: float) -> None:
        c = self.config
        self._drain_battery(dt)
        if self.stopped_for > 0:
            self.stopped_for = max(0.0, self.stopped_for - dt)
            self.speed = 0.0
            return
        if self.rng.random() < dt / c.target_change_every_s:
            self.target = self._limit() * self.rng.uniform(0.5, 1.0)
        remaining = c.block_m - self.position_m
        # The fastest speed from which the vehicle can still brake to the approach speed in time.
        brake_limit = math.sqrt(self._approach_speed() ** 2 + 2 * c.brake_ms2 * remaining)
        desired = min(self.target, self._limit(), brake_limit, c.max_speed_kmh * KMH)
        if self.speed < desired:
            self.speed = min(desired, self.speed + c.accel_ms2 * dt)
        else:
            self.speed = max(desired, self.speed - c.brake_ms2 * dt)
        if self.speed < 0.05 and remaining > 0.5 and desired > 0:
            self.speed = min(desired, c.accel_ms2 * dt)  # never stall before the intersection
        move = self.speed * dt
        if self.position_m + move < c.block_m:
            self.position_m += move
            return
        # Reaching the intersection: stop there, or turn/go on at no more than the approach speed.
        self.node = self._ahead(self.node, self.direction)
        self.position_m = 0.0
        if self.stop_next:
            self.speed = 0.0
            self.stopped_for = self.rng.uniform(*c.stop_seconds)
        else:
            self.speed = min(self.speed, self._approach_speed())
        self.direction = self.next_direction
        self.target = self._limit() * self.rng.uniform(0.6, 1.0)
        self._plan_next()

    def _drain_battery(self, dt: float) -> None:
        if self.charging:
            self.battery = min(100.0, self.battery + 0.1 * dt)
            self.charging = self.battery < 95.0
        else:
            self.battery = max(0.0, self.battery - 0.005 * dt)
            self.charging = self.battery <= 10.0

    # --- what the device reports ----------------------------------------------------------
    def true_xy(self) -> tuple[float, float]:
        dx, dy = DIRECTIONS[self.direction]
        b = self.config.block_m
        return self.node[0] * b + dx * self.position_m, self.node[1] * b + dy * self.position_m

    def heading(self) -> float:
        return self.direction * 90.0

    def fix(self) -> dict[str, Any]:
        """The reported point: position with GPS noise, noisy speed (0..120 km/h), heading, alt, battery."""
        c = self.config
        x, y = self.true_xy()
        x += self.rng.gauss(0.0, c.gps_noise_m)
        y += self.rng.gauss(0.0, c.gps_noise_m)
        lat = c.center_lat + y / EARTH_M_PER_DEG
        lon = c.center_lon + x / (EARTH_M_PER_DEG * math.cos(math.radians(c.center_lat)))
        speed = 0.0
        if self.speed > 0:
            speed = min(max(0.0, self.speed + self.rng.gauss(0.0, c.speed_noise_ms)), c.max_speed_kmh * KMH)
        heading = (self.heading() + self.rng.gauss(0.0, 2.0)) % 360.0
        return {
            "lon": round(lon, 7),
            "lat": round(lat, 7),
            "speed": round(speed, 3),
            "heading": round(heading, 1) % 360.0,
            "alt": round(self.alt + self.rng.gauss(0.0, 0.5), 1),
            "accuracy": round(2 * c.gps_noise_m, 1),
            "battery": round(self.battery, 1),
        }
