"""Visual Crossing's Timeline API response -> :class:`Observation` (pure).

The producer asks for ``include=current,hours`` over the coming hour with ``unitGroup=metric`` (degrees
Celsius, km/h, mm). The other unit groups are normalised too, so a response is read right whatever it
says it is in: ``us`` (Fahrenheit, mph, inches), ``uk`` (Celsius, mph, mm), ``base`` (Kelvin, m/s, mm).
The next hour comes from the first hourly record after the current conditions; when the response has
none, the forecast is persistence (the current values), which the producer logs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from weather_producer.observation import Observation

MPH_TO_KMH = 1.609344
MS_TO_KMH = 3.6
INCH_TO_MM = 25.4


class ResponseError(ValueError):
    """The response lacks what an observation needs, or carries values that are not numbers."""


def _number(record: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = record.get(key)
    if value is None:
        if default is None:
            raise ResponseError(f"{key}: missing")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ResponseError(f"{key}: not a finite number: {value!r}")
    return float(value)


def to_celsius(value: float, unit_group: str) -> float:
    if unit_group == "us":
        return (value - 32.0) * 5.0 / 9.0
    if unit_group == "base":
        return value - 273.15
    return value


def to_kmh(value: float, unit_group: str) -> float:
    if unit_group in ("us", "uk"):
        return value * MPH_TO_KMH
    if unit_group == "base":
        return value * MS_TO_KMH
    return value


def to_mm(value: float, unit_group: str) -> float:
    return value * INCH_TO_MM if unit_group == "us" else value


def _thunder(record: Mapping[str, Any]) -> bool:
    text = f"{record.get('conditions') or ''} {record.get('icon') or ''}".lower()
    return "thunder" in text


def _next_hour(response: Mapping[str, Any], after_epoch: float) -> Mapping[str, Any] | None:
    for day in response.get("days") or []:
        for hour in (day or {}).get("hours") or []:
            epoch = hour.get("datetimeEpoch") if isinstance(hour, Mapping) else None
            if isinstance(epoch, int | float) and epoch > after_epoch:
                return hour
    return None


def observation(response: Mapping[str, Any], unit_group: str = "metric") -> tuple[Observation, bool]:
    """The current conditions as an observation, and whether the next hour came from the forecast."""
    current = response.get("currentConditions")
    if not isinstance(current, Mapping):
        raise ResponseError("currentConditions: missing")
    epoch = _number(current, "datetimeEpoch")
    temperature = to_celsius(_number(current, "temp"), unit_group)
    precipitation = to_mm(_number(current, "precip", 0.0), unit_group)
    wind_speed = to_kmh(_number(current, "windspeed", 0.0), unit_group)
    gust = current.get("windgust")
    wind_gust = to_kmh(_number(current, "windgust"), unit_group) if gust is not None else None
    nxt = _next_hour(response, epoch)
    next_temp = to_celsius(_number(nxt, "temp"), unit_group) if nxt else temperature
    next_precip = to_mm(_number(nxt, "precip", 0.0), unit_group) if nxt else precipitation
    stations = current.get("stations")
    has_station = isinstance(stations, list) and stations and isinstance(stations[0], str)
    station = stations[0] if has_station else None
    obs = Observation(
        time=datetime.fromtimestamp(epoch, UTC),
        temperature=temperature,
        humidity=_number(current, "humidity"),
        wind_speed=wind_speed,
        precipitation=precipitation,
        next_hour_temp=next_temp,
        next_hour_precip=next_precip,
        wind_gust=wind_gust,
        thunder=_thunder(current),
        station_id=station,
    )
    return obs, nxt is not None
