"""One observation of one city, in the platform's units, and the ``weather_data_v2`` message built from it.

Units inside: degrees Celsius, percent, km/h (wind), mm/h (precipitation), mm (next hour's precipitation).
The enrichment rules are the prototype's, made explicit:

- ``is_rain`` = 1 when precipitation > 0;
- ``is_storm`` = 1 when it rains AND (thunder is reported, or the rain is heavy (>= 7.6 mm/h, the WMO
  "heavy rain" threshold) with gale-force gusts (>= 62 km/h, Beaufort 8)); or when the sustained wind
  alone reaches storm force (>= 89 km/h, Beaufort 10), rain or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

HEAVY_RAIN_MM_H = 7.6
GALE_GUST_KMH = 62.0
STORM_WIND_KMH = 89.0
NUMERIC_FIELDS = (
    "temperature",
    "humidity",
    "wind_speed",
    "precipitation",
    "next_hour_temp",
    "next_hour_precip",
)


@dataclass(frozen=True)
class Observation:
    time: datetime
    """Observation time, timezone-aware."""
    temperature: float
    humidity: float
    wind_speed: float
    precipitation: float
    next_hour_temp: float
    next_hour_precip: float
    wind_gust: float | None = None
    thunder: bool = False
    station_id: str | None = None


def is_storm(obs: Observation) -> bool:
    raining = obs.precipitation > 0
    gusts = obs.wind_gust if obs.wind_gust is not None else obs.wind_speed
    violent_rain = obs.precipitation >= HEAVY_RAIN_MM_H and gusts >= GALE_GUST_KMH
    return (raining and (obs.thunder or violent_rain)) or obs.wind_speed >= STORM_WIND_KMH


def rfc3339_utc(moment: datetime) -> str:
    """``2025-09-26T14:05:00Z``: what Telegraf's json_v2 parses with ``2006-01-02T15:04:05Z07:00``."""
    if moment.tzinfo is None:
        raise ValueError("observation time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _finite(name: str, value: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name}: not a finite number: {value!r}")
    return float(value)


def weather_message(city: str, country: str, obs: Observation, data_origin: str) -> dict[str, object]:
    """The ``weather_data_v2`` message (validated by the producer against the shared contract)."""
    values = {name: _finite(name, getattr(obs, name)) for name in NUMERIC_FIELDS}
    return {
        "city": city,
        "country": country,
        "station_id": obs.station_id or default_station_id(city, country, data_origin),
        "timestamp": rfc3339_utc(obs.time),
        "temperature": round(values["temperature"], 2),
        "humidity": round(min(max(values["humidity"], 0.0), 100.0), 2),
        "wind_speed": round(max(values["wind_speed"], 0.0), 2),
        "precipitation": round(max(values["precipitation"], 0.0), 3),
        "next_hour_temp": round(values["next_hour_temp"], 2),
        "next_hour_precip": round(max(values["next_hour_precip"], 0.0), 3),
        "is_rain": int(values["precipitation"] > 0),
        "is_storm": int(is_storm(obs)),
        "data_origin": data_origin,
    }


def default_station_id(city: str, country: str, data_origin: str) -> str:
    """A stable logical station per city when the source names none: ``sim-fr-paris``, ``vc-gb-london``."""
    prefix = "sim" if data_origin == "simulated" else "vc"
    slug = "-".join("".join(c if c.isalnum() else " " for c in city.lower()).split())
    return f"{prefix}-{country.lower()}-{slug}"
