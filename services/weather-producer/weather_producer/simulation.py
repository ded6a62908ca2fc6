"""A realistic stand-in for the API, one simulator per city (pure: its randomness comes from ``rng``).

- temperature: the city's normal for the month, a diurnal cosine (coldest near 05:00, warmest near 15:00
  local solar time, from the longitude-free UTC offset given), plus a slow AR(1) weather anomaly;
- humidity: high when cool, low in the afternoon, near saturation while it rains;
- wind: a mean-reverting, non-negative process around the city's mean, gusts above it;
- rain: a two-state (dry/rain) Markov chain whose stationary share is the city's rainy-hour share and whose
  episodes last about two hours; intensity drawn per episode; a share of episodes are storms (heavier rain,
  gale gusts, thunder), so a storm always implies rain.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from weather_producer.cities import City
from weather_producer.observation import GALE_GUST_KMH, HEAVY_RAIN_MM_H, Observation

RAIN_EPISODE_HOURS = 2.0
STORM_SHARE = 0.12
ANOMALY_HOURS = 36.0
ANOMALY_SD_C = 2.5


def diurnal_normal(city: City, moment: datetime, utc_offset_h: float) -> float:
    normals = city.climate.monthly_mean_c
    local = moment + timedelta(hours=utc_offset_h)
    # Interpolate between monthly means so the normal has no jump at month boundaries.
    position = local.month - 1 + (local.day - 1) / 30.5 - 0.5
    low = math.floor(position)
    frac = position - low
    seasonal = normals[low % 12] * (1 - frac) + normals[(low + 1) % 12] * frac
    hour = local.hour + local.minute / 60
    return seasonal + city.climate.diurnal_range_c / 2 * math.cos(2 * math.pi * (hour - 15) / 24)


@dataclass
class CitySimulator:
    city: City
    rng: random.Random
    utc_offset_h: float = 0.0
    anomaly_c: float = 0.0
    wind_kmh: float = field(default=-1.0)
    raining: bool = False
    storm: bool = False
    rain_mm_h: float = 0.0
    last: datetime | None = None

    def _step_weather(self, hours: float) -> None:
        climate = self.city.climate
        keep = math.exp(-hours / ANOMALY_HOURS)
        self.anomaly_c = self.anomaly_c * keep + self.rng.gauss(0, ANOMALY_SD_C * math.sqrt(1 - keep * keep))
        if self.wind_kmh < 0:
            self.wind_kmh = climate.mean_wind_kmh
        pull = 1 - math.exp(-hours / 6)
        self.wind_kmh = max(0.0, self.wind_kmh + (climate.mean_wind_kmh - self.wind_kmh) * pull)
        self.wind_kmh = max(0.0, self.wind_kmh + self.rng.gauss(0, 3.0 * math.sqrt(min(hours, 6.0))))
        stop = 1 - math.exp(-hours / RAIN_EPISODE_HOURS)
        share = climate.rainy_hour_share
        start = 1 - math.exp(-hours / RAIN_EPISODE_HOURS * share / (1 - share))
        if self.raining and self.rng.random() < stop:
            self.raining, self.storm, self.rain_mm_h = False, False, 0.0
        elif not self.raining and self.rng.random() < start:
            self.raining = True
            self.storm = self.rng.random() < STORM_SHARE
            base = self.rng.lognormvariate(math.log(1.2), 0.8)
            heavy = HEAVY_RAIN_MM_H
            self.rain_mm_h = max(base, heavy * 1.2) if self.storm else min(base, heavy * 0.9)

    def observe(self, moment: datetime) -> Observation:
        hours = 1.0 if self.last is None else max((moment - self.last).total_seconds() / 3600, 0.0)
        self.last = moment
        self._step_weather(hours)
        temperature = diurnal_normal(self.city, moment, self.utc_offset_h) + self.anomaly_c
        if self.raining:
            temperature -= 1.5
        next_temp = diurnal_normal(self.city, moment + timedelta(hours=1), self.utc_offset_h) + self.anomaly_c
        dryness = math.cos(2 * math.pi * (moment.hour + self.utc_offset_h - 15) / 24)
        humidity = 97.0 if self.raining else 68.0 - 18.0 * dryness + self.rng.gauss(0, 4.0)
        rain = self.rain_mm_h * self.rng.uniform(0.7, 1.3) if self.raining else 0.0
        gust = self.wind_kmh * self.rng.uniform(1.3, 1.7)
        if self.storm:
            gust = max(gust, GALE_GUST_KMH + self.rng.uniform(0, 25))
        return Observation(
            time=moment,
            temperature=temperature,
            humidity=min(max(humidity, 5.0), 100.0),
            wind_speed=self.wind_kmh,
            precipitation=rain,
            next_hour_temp=next_temp - (1.0 if self.raining else 0.0),
            next_hour_precip=rain * math.exp(-1 / RAIN_EPISODE_HOURS),
            wind_gust=gust,
            thunder=self.storm,
        )
