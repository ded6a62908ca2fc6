"""Query-string parsing for the API: pure functions that raise ParamError naming the parameter."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from geostream.contracts import FieldError
from geostream.locations import PointError, check_lat, check_lon
from geostream.timestamps import TimestampError, to_epoch_ms


class ParamError(ValueError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(map(str, errors)))


@dataclass(frozen=True)
class Window:
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


BBox = tuple[float, float, float, float]


def window(args: Mapping[str, str], now_ms: int, max_days: float, default_span_ms: int = 3_600_000) -> Window:
    """``start``/``end`` as ISO 8601 or epoch (s/ms/us/ns); defaults: the last hour."""
    errors = []
    values = {}
    for name, default in (("end", now_ms), ("start", None)):
        raw = args.get(name)
        if raw in (None, ""):
            values[name] = default
            continue
        try:
            values[name] = to_epoch_ms(raw)
        except TimestampError as exc:
            errors.append(FieldError(name, str(exc)))
    if errors:
        raise ParamError(errors)
    end = values["end"]
    start = values["start"] if values["start"] is not None else end - default_span_ms
    if start > end:
        raise ParamError([FieldError("start", "must not be after end")])
    if end - start > max_days * 86_400_000:
        raise ParamError([FieldError("end", f"the window may span at most {max_days:g} days")])
    return Window(start, end)


def page(args: Mapping[str, str], default_limit: int, max_limit: int) -> Page:
    errors = []
    result = {}
    for name, default, low, high in (("limit", default_limit, 1, max_limit), ("offset", 0, 0, 10**9)):
        raw = args.get(name)
        if raw in (None, ""):
            result[name] = default
            continue
        try:
            value = int(raw)
        except ValueError:
            errors.append(FieldError(name, f"must be an integer, not {raw[:20]!r}"))
            continue
        if not low <= value <= high:
            errors.append(FieldError(name, f"must be between {low} and {high}"))
            continue
        result[name] = value
    if errors:
        raise ParamError(errors)
    return Page(**result)


def bbox(args: Mapping[str, str]) -> BBox | None:
    """``bbox=minLon,minLat,maxLon,maxLat`` (WGS 84 degrees)."""
    raw = args.get("bbox")
    if raw in (None, ""):
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise ParamError([FieldError("bbox", "must be minLon,minLat,maxLon,maxLat")])
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ParamError([FieldError("bbox", "must be four numbers")]) from None
    if not all(math.isfinite(n) for n in numbers):
        raise ParamError([FieldError("bbox", "must be four finite numbers")])
    try:
        min_lon, max_lon = check_lon(numbers[0], "bbox"), check_lon(numbers[2], "bbox")
        min_lat, max_lat = check_lat(numbers[1], "bbox"), check_lat(numbers[3], "bbox")
    except PointError as exc:
        raise ParamError([FieldError("bbox", exc.reason)]) from None
    if min_lat > max_lat:
        raise ParamError([FieldError("bbox", "minLat must not be above maxLat")])
    if min_lon > max_lon:
        raise ParamError(
            [FieldError("bbox", "minLon > maxLon (a box across the antimeridian): send two boxes")]
        )
    return min_lon, min_lat, max_lon, max_lat


def polygon(args: Mapping[str, str]) -> str | None:
    """``polygon=`` a GeoJSON Polygon (lon/lat); returned as GeoJSON text for ST_GeomFromGeoJSON."""
    raw = args.get("polygon")
    if raw in (None, ""):
        return None
    try:
        geometry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ParamError([FieldError("polygon", "must be a GeoJSON Polygon")]) from None
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        raise ParamError([FieldError("polygon", 'must be a GeoJSON object with "type": "Polygon"')])
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise ParamError([FieldError("polygon", "coordinates must be a list of rings")])
    for r, ring in enumerate(rings):
        if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
            raise ParamError(
                [FieldError(f"polygon.coordinates[{r}]", "a ring needs 4+ positions, first = last")]
            )
        for i, position in enumerate(ring):
            try:
                if not isinstance(position, list) or len(position) < 2:
                    raise PointError("", "must be [lon, lat]")
                check_lon(position[0])
                check_lat(position[1])
            except PointError as exc:
                raise ParamError([FieldError(f"polygon.coordinates[{r}][{i}]", exc.reason)]) from None
    return orjson.dumps({"type": "Polygon", "coordinates": rings}).decode()


def collect(*parsers) -> list:
    """Run every parser and raise one ParamError with all their problems."""
    results, errors = [], []
    for parse in parsers:
        try:
            results.append(parse())
        except ParamError as exc:
            errors.extend(exc.errors)
            results.append(None)
    if errors:
        raise ParamError(errors)
    return results
