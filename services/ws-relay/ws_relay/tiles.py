"""Subscription tiles (pure, no I/O): a plate carrée grid, ``2**level`` columns by ``2**level`` rows.

A v2 client is subscribed to the tiles covering its viewport at one level, the finest at which they
number at most :data:`MAX_TILES`; frames are built and shared per tile. A box across the antimeridian
is split in two boxes (the tiles east of -180 and west of 180), never the whole world. Longitude 180
belongs to the last column, latitude 90 to the last row.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ws_relay.geo import BBox

MAX_LEVEL = 14
"""About 2.4 km by 1.2 km at the equator: a street-level view still covers a handful of tiles."""
MAX_TILES = 16
"""A viewport is covered by at most this many tiles (about 4 by 4)."""


class Tile(NamedTuple):
    level: int
    x: int
    y: int

    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` in degrees."""
        n = 1 << self.level
        w, h = 360.0 / n, 180.0 / n
        return (-180.0 + self.x * w, -90.0 + self.y * h, -180.0 + (self.x + 1) * w, -90.0 + (self.y + 1) * h)

    def children(self) -> list[Tile]:
        level, x, y = self.level + 1, self.x * 2, self.y * 2
        return [Tile(level, x, y), Tile(level, x + 1, y), Tile(level, x, y + 1), Tile(level, x + 1, y + 1)]

    def ancestor(self, level: int) -> Tile:
        """The tile at ``level`` (coarser or equal) that holds this one."""
        shift = self.level - level
        return Tile(level, self.x >> shift, self.y >> shift)

    def holds(self, other: Tile) -> bool:
        """Whether ``other`` is this tile or lies inside it."""
        return other.level >= self.level and other.ancestor(self.level) == self

    def contains(self, lon: float, lat: float) -> bool:
        return tile_of(lon, lat, self.level) == self


def column(lon: float, level: int) -> int:
    n = 1 << level
    return min(n - 1, max(0, int((lon + 180.0) * n / 360.0)))


def row(lat: float, level: int) -> int:
    n = 1 << level
    return min(n - 1, max(0, int((lat + 90.0) * n / 180.0)))


def tile_of(lon: float, lat: float, level: int) -> Tile:
    return Tile(level, column(lon, level), row(lat, level))


def _plain_boxes(bbox: BBox | None) -> list[tuple[float, float, float, float]]:
    if bbox is None:
        return [(-180.0, -90.0, 180.0, 90.0)]
    if bbox.crosses_antimeridian:
        return [
            (bbox.min_lon, bbox.min_lat, 180.0, bbox.max_lat),
            (-180.0, bbox.min_lat, bbox.max_lon, bbox.max_lat),
        ]
    return [(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat)]


def _cover(boxes: list[tuple[float, float, float, float]], level: int) -> set[Tile]:
    tiles: set[Tile] = set()
    for w, s, e, n in boxes:
        for x in range(column(w, level), column(e, level) + 1):
            for y in range(row(s, level), row(n, level) + 1):
                tiles.add(Tile(level, x, y))
    return tiles


def _count(boxes: list[tuple[float, float, float, float]], level: int) -> int:
    return sum(
        (column(e, level) - column(w, level) + 1) * (row(n, level) - row(s, level) + 1)
        for w, s, e, n in boxes
    )


def cover(bbox: BBox | None, zoom: float | None = None) -> frozenset[Tile]:
    """The tiles a viewport subscribes to: at the finest level where at most :data:`MAX_TILES` cover it,
    and no finer than the map's ``zoom`` when the client sent one (a zoomed-out map aggregates)."""
    boxes = _plain_boxes(bbox)
    top = MAX_LEVEL if zoom is None else max(0, min(MAX_LEVEL, math.floor(zoom)))
    level = next((lv for lv in range(top, 0, -1) if _count(boxes, lv) <= MAX_TILES), 0)
    return frozenset(_cover(boxes, level))
