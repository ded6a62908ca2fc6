"""The cities to observe: ``WEATHER_CITIES="Paris:FR,London:GB"`` with built-in climate normals for the
simulation (mean temperature by month, diurnal range, rainy-hour share); unknown cities get temperate ones."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Climate:
    monthly_mean_c: tuple[float, ...]
    """Mean temperature of each month, January first (12 values)."""
    diurnal_range_c: float
    rainy_hour_share: float
    """Share of hours with measurable rain."""
    mean_wind_kmh: float


@dataclass(frozen=True)
class City:
    name: str
    country: str
    climate: Climate

    @property
    def query(self) -> str:
        """How the Visual Crossing API is asked for it: ``Paris,FR``."""
        return f"{self.name},{self.country}"


TEMPERATE = Climate((5, 6, 9, 12, 15, 18, 20, 20, 17, 13, 8, 5), 8.0, 0.08, 14.0)
KNOWN: dict[str, Climate] = {
    "paris": Climate((5.0, 5.8, 8.9, 11.9, 15.5, 18.7, 20.8, 20.5, 17.0, 13.0, 8.2, 5.4), 8.5, 0.07, 14.0),
    "london": Climate((5.2, 5.5, 7.6, 10.0, 13.3, 16.4, 18.7, 18.4, 15.7, 12.3, 8.3, 5.6), 7.5, 0.09, 16.0),
    "berlin": Climate((0.6, 1.6, 5.0, 9.9, 14.6, 17.7, 19.7, 19.2, 15.0, 10.0, 5.0, 1.7), 8.0, 0.07, 13.0),
    "madrid": Climate((6.3, 7.9, 11.2, 12.9, 16.7, 22.2, 25.6, 25.1, 20.9, 15.1, 9.9, 6.9), 12.0, 0.04, 10.0),
    "rome": Climate((7.5, 8.2, 10.7, 13.3, 17.6, 21.6, 24.4, 24.5, 20.9, 16.7, 12.0, 8.7), 10.0, 0.05, 11.0),
    "new york": Climate((0.5, 1.6, 5.8, 11.9, 17.5, 22.6, 25.5, 24.9, 21.0, 14.8, 8.9, 3.4), 8.0, 0.08, 18.0),
    "tokyo": Climate((5.4, 6.1, 9.4, 14.3, 18.8, 21.9, 25.7, 26.9, 23.3, 18.0, 12.5, 7.7), 7.0, 0.10, 12.0),
}
DEFAULT_CITIES = "Paris:FR,London:GB,Berlin:DE,Madrid:ES,Rome:IT"


def parse_cities(spec: str) -> list[City]:
    """``"Paris:FR, New York:US"`` -> cities; a country code is required (the message has ``country``)."""
    cities = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, sep, country = item.rpartition(":")
        if not sep or not name.strip() or not country.strip():
            raise ValueError(f"WEATHER_CITIES: {item!r} is not CITY:COUNTRY")
        cities.append(City(name.strip(), country.strip().upper(), KNOWN.get(name.strip().lower(), TEMPERATE)))
    if not cities:
        raise ValueError("WEATHER_CITIES: no city")
    return cities
