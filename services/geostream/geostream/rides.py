"""Rides: validation of a ``rides_raw`` record, haversine distance, price, and the ``rides_result`` record.

The rules are the ``rides_raw`` contract (``contracts/schemas/rides_raw.schema.json``): a strict schema
whose unknown fields are ignored. The Flink pricing job (``services/flink-job/rides_job.py``) applies the
same rules in SQL; its integration test compares its output with :func:`price_record`, record for record.

Rounding (the same in both places):
- ``distance_km``: haversine on a sphere of the mean Earth radius (IUGG, 6371.0088 km), rounded to the
  metre (3 decimals).
- ``price_total = price_base + distance_km * price_per_km + duration_min * price_per_min`` computed with
  the unrounded distance, then rounded to the cent, half up, on the shortest decimal form of the double
  (what Flink SQL's ``ROUND(x, 2)`` does: ``BigDecimal.valueOf(x).setScale(2, HALF_UP)``).
- ``ts`` is normalised to UTC with milliseconds, ``YYYY-MM-DDTHH:MM:SS.sssZ`` (extra fraction digits are
  truncated); the lake partitions by it.

Each DLQ reason starts with its class (``REASON_*``) followed by ``: `` and the field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson

EARTH_RADIUS_KM = 6371.0088
DISTANCE_DECIMALS = 3
PRICE_DECIMALS = 2

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COMFORT_ALIASES: dict[str, str] = {"eco": "low", "comfort": "medium", "business": "high"}
COMFORT_LEVELS: tuple[str, ...] = ("low", "medium", "high")

REASON_INVALID_JSON = "invalid JSON"
REASON_NOT_OBJECT = "wrong type: record is not a JSON object"
REASON_MISSING = "missing field"
REASON_WRONG_TYPE = "wrong type"
REASON_OUT_OF_RANGE = "out of range"
REASON_BAD_FORMAT = "bad format"

RIDE_ID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# The contract's pattern, with groups: date, hour, minute, optional seconds and fraction, optional offset.
# ASCII digits only and no trailing newline (fullmatch), as Java's regex in the SQL job reads it.
TS_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
NUMBER_FIELDS: tuple[str, ...] = ("duration_min", "price_base", "price_per_km", "price_per_min")
POINT_FIELDS: tuple[str, ...] = ("origin", "destination")
REQUIRED_FIELDS: tuple[str, ...] = (
    "ride_id",
    "ts",
    "origin",
    "destination",
    "comfort",
    "duration_min",
    "price_base",
    "price_per_km",
    "price_per_min",
)


class RideRejectedError(ValueError):
    """A record that breaks the ``rides_raw`` contract; ``reason`` goes to ``rides_dlq``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


def haversine_km(a: Point, b: Point, radius_km: float = EARTH_RADIUS_KM) -> float:
    """Great-circle distance on a sphere; at most ~0.5 % from the ellipsoid's geodesic."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = math.radians(b.lat - a.lat)
    dlon = math.radians(b.lon - a.lon)
    sin_dlat, sin_dlon = math.sin(dlat / 2), math.sin(dlon / 2)
    # Written as the SQL job writes it (products, not powers), so both give the same double.
    h = sin_dlat * sin_dlat + math.cos(lat1) * math.cos(lat2) * sin_dlon * sin_dlon
    return 2 * radius_km * math.asin(math.sqrt(min(h, 1.0)))


def round_half_up(value: float, decimals: int) -> float:
    """Flink SQL's ROUND on a DOUBLE: the shortest decimal form of ``value``, rounded half up."""
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def price_total(
    distance_km: float, duration_min: float, price_base: float, price_per_km: float, price_per_min: float
) -> float:
    return round_half_up(
        price_base + distance_km * price_per_km + duration_min * price_per_min, PRICE_DECIMALS
    )


def normalise_comfort(value: str) -> str:
    """``eco``/``comfort``/``business`` -> ``low``/``medium``/``high``; the levels themselves unchanged."""
    comfort = COMFORT_ALIASES.get(value, value)
    if comfort not in COMFORT_LEVELS:
        raise RideRejectedError(f"{REASON_OUT_OF_RANGE}: comfort")
    return comfort


def parse_ts(text: str) -> datetime:
    """An ISO 8601 date-time as the contract allows it (seconds and offset optional: UTC) -> aware UTC.

    Milliseconds are kept (further digits truncated), as the SQL job does.
    """
    match = TS_RE.fullmatch(text)
    if match is None:
        raise RideRejectedError(f"{REASON_BAD_FORMAT}: ts")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        raise RideRejectedError(f"{REASON_BAD_FORMAT}: ts") from None
    millis = int((fraction or "")[:3].ljust(3, "0"))
    shift = timedelta(0)
    if offset and offset != "Z":
        digits = offset[1:].replace(":", "")
        shift = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset[0] == "-":
            shift = -shift
    try:
        moment = (local - shift).replace(tzinfo=UTC) + timedelta(milliseconds=millis)
    except OverflowError:
        raise RideRejectedError(f"{REASON_OUT_OF_RANGE}: ts") from None
    # Before 1970 is no ride, and Java's calendar (Julian before 1582) would disagree with Python's.
    if moment < EPOCH:
        raise RideRejectedError(f"{REASON_OUT_OF_RANGE}: ts")
    return moment


def format_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(record: dict[str, Any], field: str, name: str, low: float, high: float) -> float:
    if field not in record or record[field] is None:
        raise RideRejectedError(f"{REASON_MISSING}: {name}")
    value = record[field]
    if not _is_number(value):
        raise RideRejectedError(f"{REASON_WRONG_TYPE}: {name}")
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the doubles
        raise RideRejectedError(f"{REASON_OUT_OF_RANGE}: {name}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise RideRejectedError(f"{REASON_OUT_OF_RANGE}: {name}")
    return value + 0.0  # -0.0 -> 0.0, as the SQL job's text round trip gives


def _point(record: dict[str, Any], field: str) -> Point:
    if field not in record or record[field] is None:
        raise RideRejectedError(f"{REASON_MISSING}: {field}")
    value = record[field]
    if not isinstance(value, dict):
        raise RideRejectedError(f"{REASON_WRONG_TYPE}: {field}")
    lat = _number(value, "lat", f"{field}.lat", -90.0, 90.0)
    lon = _number(value, "lon", f"{field}.lon", -180.0, 180.0)
    return Point(lat, lon)


def _string(record: dict[str, Any], field: str) -> str:
    if field not in record or record[field] is None:
        raise RideRejectedError(f"{REASON_MISSING}: {field}")
    value = record[field]
    if not isinstance(value, str):
        raise RideRejectedError(f"{REASON_WRONG_TYPE}: {field}")
    return value


@dataclass(frozen=True)
class Ride:
    """A valid ride request, normalised (comfort level, UTC ``ts``)."""

    ride_id: str
    ts: datetime
    origin: Point
    destination: Point
    comfort: str
    duration_min: float
    price_base: float
    price_per_km: float
    price_per_min: float


def validate(record: Any) -> Ride:
    """A decoded ``rides_raw`` record -> :class:`Ride`, or RideRejectedError naming the first problem.

    Fields are checked in a fixed order (the SQL job's order), so both name the same reason. A JSON
    ``null`` counts as missing.
    """
    if not isinstance(record, dict):
        raise RideRejectedError(REASON_NOT_OBJECT)
    ride_id = _string(record, "ride_id")
    if not RIDE_ID_RE.fullmatch(ride_id):
        raise RideRejectedError(f"{REASON_BAD_FORMAT}: ride_id")
    ts = parse_ts(_string(record, "ts"))
    origin = _point(record, "origin")
    destination = _point(record, "destination")
    comfort = normalise_comfort(_string(record, "comfort"))
    numbers = [_number(record, f, f, 0.0, math.inf) for f in NUMBER_FIELDS]
    return Ride(ride_id, ts, origin, destination, comfort, *numbers)


def decode(raw: bytes | str | None) -> Any:
    """JSON text -> Python value, or :class:`RideRejectedError` (invalid JSON, also NaN and invalid UTF-8)."""
    if raw is None:
        raise RideRejectedError(f"{REASON_INVALID_JSON}: empty record")
    if isinstance(raw, bytes):
        # Flink's raw format replaces bytes that are not UTF-8 with U+FFFD; so does this.
        raw = raw.decode("utf-8", errors="replace")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses numbers beyond a double or a 64-bit integer (1e400): valid JSON, which the SQL
    # job's parser reads as well, so they must come out as "out of range", not "invalid JSON".
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise RideRejectedError(REASON_INVALID_JSON) from None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def result_record(ride: Ride) -> dict[str, Any]:
    """The ``rides_result`` record of a valid ride."""
    distance = haversine_km(ride.origin, ride.destination)
    return {
        "ride_id": ride.ride_id,
        "ts": format_ts(ride.ts),
        "origin": {"lat": ride.origin.lat, "lon": ride.origin.lon},
        "destination": {"lat": ride.destination.lat, "lon": ride.destination.lon},
        "comfort": ride.comfort,
        "duration_min": ride.duration_min,
        "price_base": ride.price_base,
        "price_per_km": ride.price_per_km,
        "price_per_min": ride.price_per_min,
        "distance_km": round_half_up(distance, DISTANCE_DECIMALS),
        "price_total": price_total(
            distance, ride.duration_min, ride.price_base, ride.price_per_km, ride.price_per_min
        ),
    }


@dataclass(frozen=True)
class Outcome:
    """Exactly one of ``result`` (for ``rides_result``) and ``reason`` (for ``rides_dlq``) is set."""

    result: dict[str, Any] | None = None
    reason: str | None = None


def price_record(raw: bytes | str | None) -> Outcome:
    """One raw ``rides_raw`` value -> its ``rides_result`` record or its DLQ reason; never raises."""
    try:
        return Outcome(result=result_record(validate(decode(raw))))
    except RideRejectedError as exc:
        return Outcome(reason=exc.reason)
