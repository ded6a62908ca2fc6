"""Query-string parsing for the API: pure functions that raise ParamError naming the parameter."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from geostream.contracts import FieldError
from geostream.identity import IdentityError, normalize_vehicle_id
from geostream.locations import PointError, check_lat, check_lon
from geostream.timestamps import TimestampError, to_epoch_ms

MIN_TIME_MS = 0
MAX_TIME_MS = 32_503_680_000_000
"""Query windows lie between 1970 and the year 3000 (PostgreSQL's timestamps reach further, but no
stored point can be outside, and an absurd bound must be a 400, not a database error)."""
MAX_POLYGON_POSITIONS = 10_000
MAX_PARAM_CHARS = 1_000_000


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
            ms = to_epoch_ms(raw)
        except (TimestampError, ValueError, OverflowError) as exc:
            errors.append(FieldError(name, str(exc)[:200]))
            continue
        if not MIN_TIME_MS <= ms <= MAX_TIME_MS:
            errors.append(FieldError(name, "must lie between 1970 and the year 3000"))
            continue
        values[name] = ms
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
    if sum(len(ring) if isinstance(ring, list) else 1 for ring in rings) > MAX_POLYGON_POSITIONS:
        raise ParamError([FieldError("polygon", f"at most {MAX_POLYGON_POSITIONS} positions")])
    clean: list[list[list[float]]] = []
    for r, ring in enumerate(rings):
        if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
            raise ParamError(
                [FieldError(f"polygon.coordinates[{r}]", "a ring needs 4+ positions, first = last")]
            )
        positions = []
        for i, position in enumerate(ring):
            try:
                if not isinstance(position, list) or len(position) < 2:
                    raise PointError("", "must be [lon, lat]")
                positions.append([check_lon(position[0]), check_lat(position[1])])
            except PointError as exc:
                raise ParamError([FieldError(f"polygon.coordinates[{r}][{i}]", exc.reason)]) from None
        clean.append(positions)
    # Re-encoded from the checked numbers only: nothing else of the client's text reaches PostGIS.
    return orjson.dumps({"type": "Polygon", "coordinates": clean}).decode()


DURATION_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_ms(args: Mapping[str, str], name: str, default: str, max_days: float) -> int:
    """``5m``, ``30s``, ``2h``, ``1d`` (the device prototype's ``?duration=``) -> milliseconds, bounded."""
    raw = args.get(name, default).strip()
    number, unit = raw[:-1], raw[-1:]
    if unit not in DURATION_UNITS_S or not number.isdigit() or len(number) > 9:
        raise ParamError([FieldError(name, "must be a whole number followed by s, m, h or d (e.g. 5m)")])
    value = int(number) * DURATION_UNITS_S[unit] * 1000
    if value <= 0 or value > max_days * DURATION_UNITS_S["d"] * 1000:
        raise ParamError([FieldError(name, f"must be more than 0 and at most {max_days:g} days")])
    return value


def vehicle_id(raw: str) -> str:
    """The vehicle id of a path (``/`` allowed: OwnTracks ``user/device``), as every source writes it."""
    try:
        return normalize_vehicle_id(raw)
    except IdentityError as exc:
        raise ParamError([FieldError("vehicle_id", exc.reason)]) from None


def text_params(args: Mapping[str, str]) -> None:
    """Every query parameter is text the API can handle: no NUL, no absurd length (400, never 500)."""
    errors = []
    for name, value in args.items():
        shown = name if name.isprintable() and len(name) <= 40 else repr(name[:40])
        if "\x00" in name or "\x00" in value:
            errors.append(FieldError(shown, "must not contain NUL characters"))
        elif len(value) > MAX_PARAM_CHARS:
            errors.append(FieldError(shown, f"longer than {MAX_PARAM_CHARS} characters"))
    if errors:
        raise ParamError(errors)


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
