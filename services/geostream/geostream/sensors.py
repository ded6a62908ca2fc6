"""Buoy sensor readings: one ndjson line -> a ``sensor_readings`` record, and that record -> a bulk action.

Pure functions, no I/O. :func:`parse_line` and :func:`normalise` never raise for any input: each returns a
:class:`Reading` or a :class:`Reject` whose ``reason`` is one of :data:`REJECT_REASONS` (a bounded set, so
it can label a metric) and whose ``detail`` says what was wrong.

The prototype's record is ``{"timestamp": "2024-01-21 10:06:04.095931", "temperature": 20.9, "humidity":
59.22, "pressure": 1001.87, "sensor_id": 1, "location": {"lon": 3.185785, "lat": 42.488629}}``. Its
timestamp has no offset: such a time is read in a configurable zone (UTC by default). ISO 8601 with an
offset (``Z``, ``+01:00``) and epoch numbers (s, ms, us or ns, told apart by magnitude) are accepted too.
Every accepted time becomes UTC with microseconds, ``2024-01-21T10:06:04.095931Z``. Unknown keys are
ignored; an optional integer ``seq`` (the sender's sequence number) is kept beside the record, for gap
counting, and is not part of the contract.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import orjson

from geostream.jsontypes import json_type
from geostream.timestamps import DEFAULT_MAX_FUTURE_MS, DEFAULT_MIN_TS_MS, EPOCH, MAX_TS_MS

TOPIC = "sensor_readings"
INDEX = "sensor-readings"
"""The data stream the readings are indexed into (Kibana's data view is ``sensor-readings*``)."""

MEASUREMENTS = ("temperature", "humidity", "pressure")
MAX_SENSOR_ID_LENGTH = 128
MAX_LINE_BYTES = 16_384
MAX_DOCUMENT_ID_BYTES = 512  # Elasticsearch's limit on _id

REJECT_REASONS = (
    "too_long",
    "not_utf8",
    "not_json",
    "not_an_object",
    "missing_field",
    "bad_sensor_id",
    "bad_timestamp",
    "bad_number",
    "out_of_range",
    "bad_location",
    "bad_seq",
    "contract",
)

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Reading:
    record: dict[str, Any]
    """The ``sensor_readings`` contract record (UTC timestamp, floats, ``location`` {lat, lon})."""
    key: str
    """The Kafka key: the sensor id as text."""
    ts_us: int
    """Event time, epoch microseconds (UTC)."""
    seq: int | None = None


@dataclass(frozen=True)
class Reject:
    reason: str
    """One of :data:`REJECT_REASONS`."""
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


class ReadingError(ValueError):
    """Why a value is not a reading; carries the named :class:`Reject`."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reject = Reject(reason, detail)


@dataclass(frozen=True)
class ReadingRules:
    """What a reading may contain. ``zone`` is where times without an offset were taken."""

    zone: tzinfo = UTC
    min_ts_us: int = DEFAULT_MIN_TS_MS * 1000
    max_future_us: int = DEFAULT_MAX_FUTURE_MS * 1000
    """How far ahead of ``now`` an event time may be (a buoy clock running fast)."""
    temperature_range: tuple[float, float] = (-90.0, 100.0)
    """Degrees Celsius: beyond this no sea or air temperature exists; a sensor fault."""
    pressure_range: tuple[float, float] = (0.0, 2000.0)
    """hPa: sea-level pressure is 870-1085; the bound only catches garbage and unit mistakes."""


DEFAULT_RULES = ReadingRules()


def parse_line(line: bytes | str, *, now_us: int | None = None, rules: ReadingRules = DEFAULT_RULES):
    """One ndjson line -> :class:`Reading` or :class:`Reject`; never raises."""
    if len(line) > MAX_LINE_BYTES:
        return Reject("too_long", f"line of {len(line)} bytes exceeds {MAX_LINE_BYTES}")
    if isinstance(line, bytes):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Reject("not_utf8", f"invalid UTF-8 at byte {exc.start}")
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Reject("not_json", str(exc)[:200])
    return normalise(value, now_us=now_us, rules=rules)


def normalise(value: Any, *, now_us: int | None = None, rules: ReadingRules = DEFAULT_RULES):
    """A decoded JSON value -> :class:`Reading` or :class:`Reject`; never raises.

    ``now_us`` (epoch microseconds) enables the future check; None skips it (replays, tests).
    """
    try:
        return _normalise(value, now_us, rules)
    except ReadingError as rejected:
        return rejected.reject
    except Exception as exc:  # a bug must cost one line, never the ingest loop
        return Reject("contract", f"unexpected {type(exc).__name__}: {exc}"[:200])


def _normalise(value: Any, now_us: int | None, rules: ReadingRules) -> Reading:
    if not isinstance(value, dict):
        raise ReadingError("not_an_object", f"expected a JSON object, got {json_type(value)}")
    missing = [f for f in ("timestamp", "sensor_id", *MEASUREMENTS, "location") if f not in value]
    if missing:
        raise ReadingError("missing_field", "missing " + ", ".join(missing))
    sensor_id = _sensor_id(value["sensor_id"])
    ts_us = parse_timestamp_us(value["timestamp"], rules.zone)
    if ts_us < rules.min_ts_us:
        raise ReadingError(
            "bad_timestamp", f"{format_timestamp(ts_us)} is before {format_timestamp(rules.min_ts_us)}"
        )
    if now_us is not None and ts_us > now_us + rules.max_future_us:
        raise ReadingError(
            "bad_timestamp",
            f"{format_timestamp(ts_us)} is more than {rules.max_future_us // 1_000_000} s ahead",
        )
    temperature = _number("temperature", value["temperature"], *rules.temperature_range)
    humidity = _number("humidity", value["humidity"], 0.0, 100.0)
    pressure = _number("pressure", value["pressure"], *rules.pressure_range)
    lat, lon = _location(value["location"])
    seq = _seq(value.get("seq"))
    record = {
        "timestamp": format_timestamp(ts_us),
        "sensor_id": sensor_id,
        "temperature": temperature,
        "humidity": humidity,
        "pressure": pressure,
        "location": {"lat": lat, "lon": lon},
    }
    # Built only from checked parts, so it meets the contract by construction (the property tests check
    # every output against the schema); validating again here would cost a quarter of the parse time.
    return Reading(record, str(sensor_id), ts_us, seq)


def _sensor_id(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        if not -(2**63) <= value < 2**64:  # beyond what JSON encoders and Kafka consumers agree on
            raise ReadingError("bad_sensor_id", "sensor_id integer out of the 64-bit range")
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ReadingError("bad_sensor_id", "sensor_id is empty")
        if len(text) > MAX_SENSOR_ID_LENGTH or not text.isprintable():
            raise ReadingError(
                "bad_sensor_id", f"sensor_id must be printable, at most {MAX_SENSOR_ID_LENGTH} chars"
            )
        return text
    raise ReadingError("bad_sensor_id", f"sensor_id must be an integer or a string, not {json_type(value)}")


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReadingError("bad_number", f"{name} must be a number, not {json_type(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range
        number = math.inf
    if not math.isfinite(number):
        raise ReadingError("bad_number", f"{name} must be finite")
    if not low <= number <= high:
        raise ReadingError("out_of_range", f"{name} {number:g} outside [{low:g}, {high:g}]")
    return number


def _location(value: Any) -> tuple[float, float]:
    """``{"lat", "lon"}`` (the prototype) or a GeoJSON-ordered ``[lon, lat]`` pair."""
    if isinstance(value, dict):
        if "lat" not in value or "lon" not in value:
            raise ReadingError("bad_location", "location needs lat and lon")
        lat_value, lon_value = value["lat"], value["lon"]
    elif isinstance(value, list) and len(value) == 2:
        lon_value, lat_value = value
    else:
        raise ReadingError(
            "bad_location", f"location must be {{lat, lon}} or [lon, lat], not {json_type(value)}"
        )
    for name, coordinate in (("lat", lat_value), ("lon", lon_value)):
        if isinstance(coordinate, bool) or not isinstance(coordinate, int | float):
            raise ReadingError(
                "bad_location", f"location.{name} must be a number, not {json_type(coordinate)}"
            )
    lat, lon = float(lat_value), float(lon_value)
    if not -90.0 <= lat <= 90.0:
        raise ReadingError("bad_location", f"latitude {lat:g} outside [-90, 90]")
    if not -180.0 <= lon <= 180.0:
        raise ReadingError("bad_location", f"longitude {lon:g} outside [-180, 180]")
    return lat, lon


def _seq(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 2**63:
        raise ReadingError("bad_seq", "seq must be a non-negative integer")
    return value


def parse_timestamp_us(value: Any, zone: tzinfo = UTC) -> int:
    """A reading's time -> epoch microseconds (UTC). Raises ``ReadingError("bad_timestamp")``.

    ISO 8601 without an offset is local time in ``zone``; epoch numbers (or digit strings) in s, ms, us
    or ns are told apart by magnitude like :func:`geostream.timestamps.to_epoch_ms`.
    """
    if isinstance(value, bool):
        raise ReadingError("bad_timestamp", "timestamp must be a string or a number, not a boolean")
    if isinstance(value, int | float):
        return _epoch_to_us(value)
    if not isinstance(value, str):
        raise ReadingError("bad_timestamp", f"timestamp must be a string or a number, not {json_type(value)}")
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return _epoch_to_us(float(text))
    match = _ISO.fullmatch(text)
    if match is None:
        raise ReadingError("bad_timestamp", f"not ISO 8601 or epoch: {text[:40]!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
        if zulu:
            aware = local.replace(tzinfo=UTC)
        elif sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            if offset >= timedelta(hours=24):
                raise ValueError("offset beyond 24 h")
            aware = local - (offset if sign == "+" else -offset)
            aware = aware.replace(tzinfo=UTC)
        else:
            aware = local.replace(tzinfo=zone)
    except (ValueError, OverflowError) as exc:
        raise ReadingError("bad_timestamp", f"{text[:40]!r}: {exc}") from None
    delta = aware - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    micros += int((fraction or "0").ljust(6, "0")[:6])
    if not 0 <= micros < MAX_TS_MS * 1000:
        raise ReadingError("bad_timestamp", f"{text[:40]!r} is outside 1970..3000")
    return micros


def _epoch_to_us(value: float) -> int:
    if not math.isfinite(value) or value < 0:
        raise ReadingError("bad_timestamp", "epoch timestamp must be a finite number >= 0")
    for upper, factor in ((1e11, 1_000_000), (1e14, 1_000), (1e17, 1), (1e20, 1e-3)):
        if value < upper:
            micros = round(value * factor)
            if micros >= MAX_TS_MS * 1000:
                break
            return micros
    raise ReadingError("bad_timestamp", f"{value:g} is not an epoch time in s, ms, us or ns before 3000")


def format_timestamp(ts_us: int) -> str:
    """Epoch microseconds -> ``2024-01-21T10:06:04.095931Z``."""
    t = EPOCH + timedelta(microseconds=ts_us)
    date = f"{t.year:04d}-{t.month:02d}-{t.day:02d}"
    return f"{date}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}Z"


# ---- Elasticsearch bulk actions -------------------------------------------------------------------


def document_id(sensor_id: int | str, ts_us: int) -> str:
    """Idempotent ``_id``: the same sensor and time always give the same id, so a replay never duplicates.

    The time is in microseconds, so two readings of one sensor within a millisecond stay two documents.
    """
    doc_id = f"{sensor_id}@{ts_us}"
    if len(doc_id.encode()) > MAX_DOCUMENT_ID_BYTES:
        return "h-" + hashlib.blake2b(doc_id.encode(), digest_size=20).hexdigest()
    return doc_id


def bulk_action(record: dict[str, Any], index: str = INDEX) -> dict[str, Any]:
    """A ``sensor_readings`` contract record -> a bulk ``create`` action for the data stream ``index``.

    Raises ValueError when the record's timestamp is not a date. Data streams take ``create`` only; a
    replayed reading gets 409 (version conflict), which the indexer counts as already indexed.
    Timestamps without an offset are UTC, as the contract says.
    """
    try:
        ts_us = parse_timestamp_us(record["timestamp"], UTC)
    except ReadingError as rejected:
        raise ValueError(rejected.reject.detail) from None
    location = record["location"]
    source = {
        "@timestamp": format_timestamp(ts_us),
        "sensor_id": str(record["sensor_id"]),
        "temperature": record["temperature"],
        "humidity": record["humidity"],
        "pressure": record["pressure"],
        "location": {"lat": location["lat"], "lon": location["lon"]},
    }
    return {
        "_op_type": "create",
        "_index": index,
        "_id": document_id(record["sensor_id"], ts_us),
        "_source": source,
    }
