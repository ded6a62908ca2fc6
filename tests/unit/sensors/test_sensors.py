"""The buoy record parser and the bulk-action builder (geostream.sensors): pure functions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geostream import contracts
from geostream.sensors import (
    REJECT_REASONS,
    Reading,
    ReadingRules,
    Reject,
    bulk_action,
    document_id,
    format_timestamp,
    normalise,
    parse_line,
)

PROTOTYPE = (
    b'{"timestamp": "2024-01-21 10:06:04.095931", "temperature": 20.9, "humidity": 59.22, '
    b'"pressure": 1001.87, "sensor_id": 1, "location": {"lon": 3.185785, "lat": 42.488629}}'
)
NOW_US = int(datetime(2024, 1, 21, 12, tzinfo=UTC).timestamp()) * 1_000_000


def reading(**changes) -> dict:
    record = orjson.loads(PROTOTYPE)
    record.update(changes)
    return record


def test_the_prototype_record_becomes_a_contract_record_keyed_by_sensor():
    result = parse_line(PROTOTYPE, now_us=NOW_US)
    assert isinstance(result, Reading)
    assert result.key == "1"
    assert result.seq is None
    assert result.record == {
        "timestamp": "2024-01-21T10:06:04.095931Z",
        "sensor_id": 1,
        "temperature": 20.9,
        "humidity": 59.22,
        "pressure": 1001.87,
        "location": {"lat": 42.488629, "lon": 3.185785},
    }
    contracts.check("sensor_readings", result.record)


@pytest.mark.parametrize(
    ("timestamp", "zone", "expected"),
    [
        ("2024-01-21 10:06:04.095931", UTC, "2024-01-21T10:06:04.095931Z"),
        ("2024-01-21 10:06:04.095931", ZoneInfo("Europe/Paris"), "2024-01-21T09:06:04.095931Z"),
        ("2024-07-21 10:06:04", ZoneInfo("Europe/Paris"), "2024-07-21T08:06:04.000000Z"),
        ("2024-01-21T10:06:04Z", ZoneInfo("Europe/Paris"), "2024-01-21T10:06:04.000000Z"),
        ("2024-01-21T10:06:04+01:00", UTC, "2024-01-21T09:06:04.000000Z"),
        ("2024-01-21T10:06:04.5-0230", UTC, "2024-01-21T12:36:04.500000Z"),
        ("2024-01-21T10:06", UTC, "2024-01-21T10:06:00.000000Z"),
        ("2024-01-21T10:06:04.123456789Z", UTC, "2024-01-21T10:06:04.123456Z"),
        (1705831564, UTC, "2024-01-21T10:06:04.000000Z"),
        (1705831564.25, UTC, "2024-01-21T10:06:04.250000Z"),
        (1705831564095, UTC, "2024-01-21T10:06:04.095000Z"),
        (1705831564095931, UTC, "2024-01-21T10:06:04.095931Z"),
        (1705831564095931000, UTC, "2024-01-21T10:06:04.095931Z"),
        ("1705831564", ZoneInfo("Europe/Paris"), "2024-01-21T10:06:04.000000Z"),
    ],
)
def test_timestamp_forms(timestamp, zone, expected):
    result = normalise(reading(timestamp=timestamp), rules=ReadingRules(zone=zone))
    assert isinstance(result, Reading), result
    assert result.record["timestamp"] == expected


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"timestamp": "2024-13-01 10:00:00"}, "bad_timestamp"),
        ({"timestamp": "yesterday"}, "bad_timestamp"),
        ({"timestamp": "1999-12-31T23:59:59Z"}, "bad_timestamp"),
        ({"timestamp": "2024-01-21T13:00:00Z"}, "bad_timestamp"),  # an hour ahead of now
        ({"timestamp": True}, "bad_timestamp"),
        ({"timestamp": -5}, "bad_timestamp"),
        ({"sensor_id": ""}, "bad_sensor_id"),
        ({"sensor_id": 1.5}, "bad_sensor_id"),
        ({"sensor_id": None}, "bad_sensor_id"),
        ({"sensor_id": 2**64}, "bad_sensor_id"),
        ({"temperature": "20.9"}, "bad_number"),
        ({"temperature": True}, "bad_number"),
        ({"temperature": 10**400}, "bad_number"),
        ({"temperature": 150.0}, "out_of_range"),
        ({"humidity": 101}, "out_of_range"),
        ({"pressure": -1}, "out_of_range"),
        ({"location": {"lat": 91, "lon": 0}}, "bad_location"),
        ({"location": {"lat": 0}}, "bad_location"),
        ({"location": "42.4,3.1"}, "bad_location"),
        ({"seq": -1}, "bad_seq"),
        ({"seq": "7"}, "bad_seq"),
    ],
)
def test_named_rejects(changes, reason):
    result = normalise(reading(**changes), now_us=NOW_US)
    assert isinstance(result, Reject)
    assert result.reason == reason, result


def test_a_missing_field_is_named():
    record = reading()
    del record["pressure"], record["location"]
    result = normalise(record)
    assert result == Reject("missing_field", "missing pressure, location")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "not_json"),
        (b"{", "not_json"),
        (b"\xff\xfe", "not_utf8"),
        (b"[1, 2]", "not_an_object"),
        (b"null", "not_an_object"),
        (b"{" + b" " * 20_000 + b"}", "too_long"),
    ],
)
def test_lines_that_are_not_records(line, reason):
    result = parse_line(line)
    assert isinstance(result, Reject)
    assert result.reason == reason


def test_extras_are_dropped_seq_is_kept_and_lon_lat_arrays_are_read():
    result = normalise(reading(seq=41, battery=3.7, sensor_id=" buoy-7 ", location=[3.1, 42.5]))
    assert isinstance(result, Reading)
    assert result.seq == 41
    assert result.key == "buoy-7"
    assert result.record["location"] == {"lat": 42.5, "lon": 3.1}
    assert "seq" not in result.record and "battery" not in result.record


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
field_values = st.one_of(
    json_values,
    st.floats(min_value=-200, max_value=2000),
    st.integers(min_value=-10, max_value=2_000_000_000_000),
    st.sampled_from(["2024-01-21 10:06:04.095931", "2024-01-21T10:06:04+05:00", "2024-02-30 00:00:00"]),
    st.fixed_dictionaries({"lat": st.floats(-100, 100), "lon": st.floats(-200, 200)}),
)
record_like = st.fixed_dictionaries(
    {},
    optional={
        name: field_values
        for name in ("timestamp", "sensor_id", "temperature", "humidity", "pressure", "location", "seq")
    },
)


def check_outcome(result) -> None:
    if isinstance(result, Reading):
        contracts.check("sensor_readings", result.record)
        action = bulk_action(result.record)
        assert action["_id"] == document_id(result.record["sensor_id"], result.ts_us)
    else:
        assert isinstance(result, Reject)
        assert result.reason in REJECT_REASONS
        assert result.detail


@settings(max_examples=400)
@given(st.one_of(json_values, record_like))
def test_any_json_value_gives_a_reading_or_a_named_reject(value):
    check_outcome(normalise(value, now_us=NOW_US))


@settings(max_examples=200)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_give_a_reading_or_a_named_reject(line):
    check_outcome(parse_line(line, now_us=NOW_US))


@given(st.integers(min_value=946_684_800_000_000, max_value=32_503_679_999_999_999))
def test_formatted_times_read_back_to_the_same_microsecond(ts_us):
    result = normalise(reading(timestamp=format_timestamp(ts_us)))
    assert isinstance(result, Reading)
    assert result.ts_us == ts_us


def test_bulk_action_is_a_data_stream_create_with_an_idempotent_id():
    record = parse_line(PROTOTYPE).record
    action = bulk_action(record)
    assert action == {
        "_op_type": "create",
        "_index": "sensor-readings",
        "_id": "1@1705831564095931",
        "_source": {
            "@timestamp": "2024-01-21T10:06:04.095931Z",
            "sensor_id": "1",
            "temperature": 20.9,
            "humidity": 59.22,
            "pressure": 1001.87,
            "location": {"lat": 42.488629, "lon": 3.185785},
        },
    }
    assert bulk_action(dict(record))["_id"] == action["_id"]
    same_instant = {**record, "timestamp": "2024-01-21T11:06:04.095931+01:00"}
    assert bulk_action(same_instant)["_id"] == action["_id"]
    assert bulk_action({**record, "sensor_id": "2"})["_id"] != action["_id"]


def test_bulk_action_refuses_a_contract_timestamp_that_is_no_date():
    record = {**parse_line(PROTOTYPE).record, "timestamp": "2024-13-45T10:00:00Z"}
    with pytest.raises(ValueError, match="month"):
        bulk_action(record)


def test_very_long_sensor_ids_get_a_bounded_hashed_id():
    doc_id = document_id("x" * 600, 1)
    assert doc_id.startswith("h-") and len(doc_id) < 512
    assert doc_id == document_id("x" * 600, 1)
