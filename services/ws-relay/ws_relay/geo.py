"""Client viewports: parsing, antimeridian-aware normalisation and point selection (pure, no I/O).

A viewport is ``[minLon, minLat, maxLon, maxLat]`` in WGS 84 degrees. Web maps report longitudes
outside [-180, 180] when the world wraps (deck.gl at low zoom, or after panning across the date line),
so longitudes are wrapped and a box whose western edge is east of its eastern edge crosses the
antimeridian: ``[170, -10, -170, 10]`` is the 20 degrees around 180, not 340 degrees the other way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ws_relay.table import Entry


class BBoxError(ValueError):
    pass


def wrap_lon(lon: float) -> float:
    """Any longitude -> [-180, 180]; values already in range (180 included) are kept as they are."""
    if -180.0 <= lon <= 180.0:
        return lon
    return (lon + 180.0) % 360.0 - 180.0


@dataclass(frozen=True, slots=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @property
    def crosses_antimeridian(self) -> bool:
        return self.min_lon > self.max_lon

    def contains(self, lon: float, lat: float) -> bool:
        if not self.min_lat <= lat <= self.max_lat:
            return False
        if self.crosses_antimeridian:
            return lon >= self.min_lon or lon <= self.max_lon
        return self.min_lon <= lon <= self.max_lon

    def select(self, entries: Iterable[Entry]) -> list[bytes]:
        """The JSON of the entries inside the box (one comprehension per case: this runs per frame)."""
        w, s, e, n = self.min_lon, self.min_lat, self.max_lon, self.max_lat
        if w > e:
            return [x.json for x in entries if s <= x.lat <= n and (x.lon >= w or x.lon <= e)]
        return [x.json for x in entries if s <= x.lat <= n and w <= x.lon <= e]


def select(entries: Iterable[Entry], bbox: BBox | None) -> list[bytes]:
    if bbox is None:
        return [x.json for x in entries]
    return bbox.select(entries)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BBoxError(f"{name} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise BBoxError(f"{name} must be finite")
    return number


def make_bbox(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> BBox:
    """Normalise a viewport: wrap longitudes, detect the antimeridian, clamp latitudes to [-90, 90].

    The eastward width decides: ``min_lon > max_lon`` is read as crossing the antimeridian, and a width
    of 360 degrees or more (a zoomed-out world view) selects every longitude.
    """
    if min_lat > max_lat:
        raise BBoxError("minLat must not be greater than maxLat")
    if min_lat > 90.0 or max_lat < -90.0:
        raise BBoxError("latitudes must overlap [-90, 90]")
    south, north = max(min_lat, -90.0), min(max_lat, 90.0)
    width = max_lon - min_lon if max_lon >= min_lon else max_lon - min_lon + 360.0
    if width >= 360.0:
        return BBox(-180.0, south, 180.0, north)
    west = wrap_lon(min_lon)
    east = west + width
    if east > 180.0:
        east -= 360.0
    # -180 and 180 are one meridian: an edge on it is written as the crossing form, which holds both.
    if west == -180.0 and east < 180.0:
        west = 180.0
    elif east == 180.0 and west > -180.0:
        east = -180.0
    return BBox(west, south, east, north)


def parse_bbox(value: Any) -> BBox | None:
    """A viewport message's ``bbox``: ``None`` (everything) or ``[minLon, minLat, maxLon, maxLat]``."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 4:
        raise BBoxError("bbox must be [minLon, minLat, maxLon, maxLat] or null")
    names = ("minLon", "minLat", "maxLon", "maxLat")
    min_lon, min_lat, max_lon, max_lat = (_number(v, n) for v, n in zip(value, names, strict=True))
    return make_bbox(min_lon, min_lat, max_lon, max_lat)


def bbox_from_path(path: str) -> BBox | None:
    """The optional ``?bbox=minLon,minLat,maxLon,maxLat`` of the connection URL (viewport from the start)."""
    values = parse_qs(urlsplit(path).query).get("bbox")
    if not values:
        return None
    parts = values[-1].split(",")
    if len(parts) != 4:
        raise BBoxError("bbox query parameter must be minLon,minLat,maxLon,maxLat")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise BBoxError("bbox query parameter must hold four numbers") from None
    return parse_bbox(numbers)
