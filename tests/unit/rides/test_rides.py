"""geostream.rides: haversine, price, comfort aliases, every DLQ reason, and no input that crashes it."""

from __future__ import annotations

import math
import uuid

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geostream import contracts
from geostream.rides import (
    EARTH_RADIUS_KM,
    REASON_BAD_FORMAT,
    REASON_INVALID_JSON,
    REASON_MISSING,
    REASON_NOT_OBJECT,
    REASON_OUT_OF_RANGE,
    REASON_WRONG_TYPE,
    Point,
    haversine_km,
    normalise_comfort,
    parse_ts,
    price_record,
    price_total,
    round_half_up,
)

RIDE_ID = "0b6f3f52-6d3c-4f43-9a55-0b8e1d7f2c11"


def ride(**changes) -> dict:
    record = {
        "ride_id": RIDE_ID,
        "ts": "2026-12-01T10:15:30Z",
        "origin": {"lat": 40.7580, "lon": -73.9855},
        "destination": {"lat": 40.6413, "lon": -73.7781},
        "comfort": "medium",
        "duration_min": 42.5,
        "price_base": 2.5,
        "price_per_km": 1.2,
        "price_per_min": 0.35,
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def reason_of(record) -> str | None:
    raw = record if isinstance(record, bytes | str) else orjson.dumps(record)
    return price_record(raw).reason


# -- haversine --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "reference_km"),
    [
        # Closed forms on the sphere: one degree of a meridian, a quarter of the equator, antipodes.
        (Point(0, 0), Point(1, 0), EARTH_RADIUS_KM * math.pi / 180),
        (Point(0, 0), Point(0, 90), EARTH_RADIUS_KM * math.pi / 2),
        (Point(10, 20), Point(-10, -160), EARTH_RADIUS_KM * math.pi),
        # Nashville BNA -> Los Angeles LAX, the textbook haversine example: 2887.26 km with R = 6372.8 km.
        (Point(36.12, -86.67), Point(33.94, -118.40), 2887.2599506 * EARTH_RADIUS_KM / 6372.8),
    ],
)
def test_haversine_matches_reference_distances(a, b, reference_km):
    assert haversine_km(a, b) == pytest.approx(reference_km, rel=1e-3)
    assert haversine_km(b, a) == pytest.approx(reference_km, rel=1e-3)


def spherical_law_of_cosines_km(a: Point, b: Point) -> float:
    lat1, lat2, dlon = math.radians(a.lat), math.radians(b.lat), math.radians(b.lon - a.lon)
    cos_angle = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(dlon)
    return EARTH_RADIUS_KM * math.acos(max(-1.0, min(1.0, cos_angle)))


@given(
    st.floats(-89, 89),
    st.floats(-180, 180),
    st.floats(-89, 89),
    st.floats(-180, 180),
)
def test_haversine_agrees_with_an_independent_formula(lat1, lon1, lat2, lon2):
    a, b = Point(lat1, lon1), Point(lat2, lon2)
    reference = spherical_law_of_cosines_km(a, b)
    # The law of cosines loses precision below a few km (acos near 1): compare in absolute terms there.
    assert haversine_km(a, b) == pytest.approx(reference, rel=1e-3, abs=0.05)


def test_zero_distance():
    assert haversine_km(Point(40.7, -74.0), Point(40.7, -74.0)) == 0.0


# -- price -------------------------------------------------------------------------------------------


def test_price_formula():
    # 2.5 + 10 km * 1.2 + 20 min * 0.35 = 2.5 + 12 + 7 = 21.5
    assert price_total(10.0, 20.0, 2.5, 1.2, 0.35) == 21.5


def test_price_is_rounded_to_the_cent_half_up_like_flink_round():
    assert round_half_up(12.345, 2) == 12.35
    assert round_half_up(2.675, 2) == 2.68  # the shortest form "2.675", not the binary 2.67499...
    assert round_half_up(0.004999, 2) == 0.0
    assert price_total(1.0, 0.0, 0.0, 0.001, 0.0) == 0.0


def test_result_record_of_a_known_ride():
    outcome = price_record(orjson.dumps(ride()))
    assert outcome.reason is None
    result = outcome.result
    distance = haversine_km(Point(40.7580, -73.9855), Point(40.6413, -73.7781))
    assert result["distance_km"] == round(distance, 3)
    assert result["price_total"] == round_half_up(2.5 + distance * 1.2 + 42.5 * 0.35, 2)
    assert result["ts"] == "2026-12-01T10:15:30.000Z"
    assert result["comfort"] == "medium"
    contracts.check("rides_result", result)


def test_unknown_fields_are_ignored():
    result = price_record(orjson.dumps(ride(driver="x", extra={"a": 1}))).result
    assert result is not None
    assert "driver" not in result and "extra" not in result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:15Z", "2026-12-01T10:15:00.000Z"),
        ("2026-12-01 10:15:30.123456", "2026-12-01T10:15:30.123Z"),
        ("2026-12-01T10:15:30.5+02:00", "2026-12-01T08:15:30.500Z"),
        ("2026-12-01T23:15:30-0130", "2026-12-02T00:45:30.000Z"),
    ],
)
def test_timestamps_are_normalised_to_utc_milliseconds(text, expected):
    result = price_record(orjson.dumps(ride(ts=text))).result
    assert result is not None and result["ts"] == expected
    assert parse_ts(text).isoformat(timespec="milliseconds").replace("+00:00", "Z") == expected


# -- comfort -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_", "level"),
    [("eco", "low"), ("comfort", "medium"), ("business", "high"), ("low", "low"), ("high", "high")],
)
def test_comfort_aliases(given_, level):
    assert normalise_comfort(given_) == level
    assert price_record(orjson.dumps(ride(comfort=given_))).result["comfort"] == level


# -- DLQ reasons -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", REASON_INVALID_JSON),
        (b"\xff\xfe", REASON_INVALID_JSON),
        (b'"\xff"', REASON_NOT_OBJECT),
        (b'{"ride_id": NaN}', REASON_INVALID_JSON),
        (b"", REASON_INVALID_JSON),
        (b"[1, 2]", REASON_NOT_OBJECT),
        (b'"a string"', REASON_NOT_OBJECT),
    ],
)
def test_unparseable_records(raw, reason):
    assert reason_of(raw) == reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"ride_id": ...}, f"{REASON_MISSING}: ride_id"),
        ({"ts": None}, f"{REASON_MISSING}: ts"),
        ({"origin": ...}, f"{REASON_MISSING}: origin"),
        ({"destination": {"lat": 40.0}}, f"{REASON_MISSING}: destination.lon"),
        ({"comfort": ...}, f"{REASON_MISSING}: comfort"),
        ({"price_per_min": ...}, f"{REASON_MISSING}: price_per_min"),
        ({"ride_id": 12}, f"{REASON_WRONG_TYPE}: ride_id"),
        ({"origin": [40.0, -73.0]}, f"{REASON_WRONG_TYPE}: origin"),
        ({"origin": {"lat": "40.7", "lon": -73.9}}, f"{REASON_WRONG_TYPE}: origin.lat"),
        ({"duration_min": "12"}, f"{REASON_WRONG_TYPE}: duration_min"),
        ({"price_base": True}, f"{REASON_WRONG_TYPE}: price_base"),
        ({"comfort": 1}, f"{REASON_WRONG_TYPE}: comfort"),
        ({"origin": {"lat": 91, "lon": 0}}, f"{REASON_OUT_OF_RANGE}: origin.lat"),
        ({"destination": {"lat": 0, "lon": -180.5}}, f"{REASON_OUT_OF_RANGE}: destination.lon"),
        ({"duration_min": -1}, f"{REASON_OUT_OF_RANGE}: duration_min"),
        ({"price_per_km": 1e400}, f"{REASON_OUT_OF_RANGE}: price_per_km"),
        ({"comfort": "luxury"}, f"{REASON_OUT_OF_RANGE}: comfort"),
        ({"ride_id": "not-a-uuid"}, f"{REASON_BAD_FORMAT}: ride_id"),
        ({"ts": "yesterday"}, f"{REASON_BAD_FORMAT}: ts"),
        ({"ts": "2026-02-30T10:00:00Z"}, f"{REASON_BAD_FORMAT}: ts"),
        ({"ts": 1764584130}, f"{REASON_WRONG_TYPE}: ts"),
        ({"ts": "1969-12-31T23:59:59Z"}, f"{REASON_OUT_OF_RANGE}: ts"),
        ({"ts": "2026-12-01T10:00:00Z\n"}, f"{REASON_BAD_FORMAT}: ts"),
    ],
)
def test_every_dlq_reason(changes, reason):
    record = ride(**changes)
    raw = orjson.dumps(record) if "price_per_km" not in changes else None
    if raw is None:  # orjson refuses to encode infinity: write the JSON text by hand
        raw = orjson.dumps(ride(price_per_km=0)).replace(b'"price_per_km":0', b'"price_per_km":1e400')
    assert reason_of(raw) == reason
    # Whatever the DLQ takes also breaks the contract (or, for ts, is not a real date-time).
    if not reason.endswith(": ts"):
        assert contracts.errors("rides_raw", orjson.loads(raw) if b"1e400" not in raw else {})


# -- never a crash -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=20,
)
ride_like = st.fixed_dictionaries(
    {},
    optional={
        "ride_id": st.just(str(uuid.uuid4())) | json_values,
        "ts": st.sampled_from(["2026-12-01T10:00:00Z", "2026-12-01 10:00", "x"]) | json_values,
        "origin": st.fixed_dictionaries({"lat": st.floats(-100, 100), "lon": st.floats(-200, 200)})
        | json_values,
        "destination": st.fixed_dictionaries({"lat": st.floats(-100, 100), "lon": st.floats(-200, 200)})
        | json_values,
        "comfort": st.sampled_from(["low", "eco", "business", "vip"]) | json_values,
        **{f: st.floats(-10, 1e6) | json_values for f in ("duration_min", "price_base", "price_per_km")},
        "price_per_min": st.floats(-1, 5) | json_values,
    },
)


@settings(max_examples=400)
@given(st.one_of(json_values, ride_like))
def test_any_json_yields_a_result_or_a_dlq_reason(value):
    outcome = price_record(orjson.dumps(value))
    assert (outcome.result is None) != (outcome.reason is None)
    if outcome.result is not None:
        contracts.check("rides_result", outcome.result)
        assert contracts.errors("rides_raw", value) == []
    else:
        assert outcome.reason


@given(st.binary(max_size=200))
def test_any_bytes_yield_a_result_or_a_dlq_reason(raw):
    outcome = price_record(raw)
    assert (outcome.result is None) != (outcome.reason is None)
