"""Cities with their ride hot spots: where rides start and end, with a weight each (share of rides).

Coordinates are real places; weights and spreads are rough, chosen to look like a taxi day (airports and
Midtown heavy). ``spread_km`` is the standard deviation of the jitter around the spot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HotSpot:
    name: str
    lat: float
    lon: float
    weight: float
    spread_km: float = 0.6


@dataclass(frozen=True)
class City:
    name: str
    utc_offset_h: int
    """Standard-time offset, for rush hours in local time."""
    spots: tuple[HotSpot, ...]


NEW_YORK = City(
    "new-york",
    -5,
    (
        HotSpot("Times Square", 40.7580, -73.9855, 10),
        HotSpot("Grand Central", 40.7527, -73.9772, 8),
        HotSpot("Penn Station", 40.7506, -73.9935, 8),
        HotSpot("Wall Street", 40.7069, -74.0113, 6),
        HotSpot("Union Square", 40.7359, -73.9911, 5),
        HotSpot("Upper East Side", 40.7736, -73.9566, 5, 1.0),
        HotSpot("Upper West Side", 40.7870, -73.9754, 4, 1.0),
        HotSpot("Williamsburg", 40.7081, -73.9571, 4, 0.9),
        HotSpot("Downtown Brooklyn", 40.6928, -73.9903, 3),
        HotSpot("Long Island City", 40.7447, -73.9485, 2),
        HotSpot("JFK Airport", 40.6413, -73.7781, 6, 0.8),
        HotSpot("LaGuardia Airport", 40.7769, -73.8740, 5, 0.6),
        HotSpot("Harlem", 40.8116, -73.9465, 2, 0.8),
    ),
)

PARIS = City(
    "paris",
    1,
    (
        HotSpot("Châtelet", 48.8584, 2.3470, 8),
        HotSpot("Gare du Nord", 48.8809, 2.3553, 7),
        HotSpot("Gare de Lyon", 48.8443, 2.3743, 6),
        HotSpot("La Défense", 48.8920, 2.2380, 5, 0.8),
        HotSpot("Montparnasse", 48.8420, 2.3210, 5),
        HotSpot("Opéra", 48.8719, 2.3316, 6),
        HotSpot("Bastille", 48.8532, 2.3692, 4),
        HotSpot("Orly Airport", 48.7262, 2.3652, 4, 0.6),
        HotSpot("Charles de Gaulle Airport", 49.0097, 2.5479, 5, 0.8),
    ),
)

CITIES: dict[str, City] = {c.name: c for c in (NEW_YORK, PARIS)}


def city(name: str) -> City:
    try:
        return CITIES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown city {name!r}; known: {', '.join(sorted(CITIES))}") from None
