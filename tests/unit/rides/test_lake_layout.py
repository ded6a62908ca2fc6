"""rides_lake.layout: hour partitions by event time, file names, flat rows."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from geostream.rides import price_record
from rides_lake.layout import SCHEMA, event_time, file_name, hour_partition, parse_file_name, row, table


def test_hour_partition_is_the_utc_event_hour():
    assert hour_partition(event_time({"ts": "2026-12-31T23:59:59.999Z"})) == "2026/12/31/23"
    assert hour_partition(datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == "2027/01/01/00"


def test_file_names_round_trip_and_sort_by_offset():
    assert parse_file_name(file_name(3, 1234)) == (3, 1234)
    assert file_name(0, 9) < file_name(0, 10)
    assert parse_file_name(".part-p0003-o00000000000000001234.parquet.ab12.tmp") is None
    assert parse_file_name("zones.png") is None


def test_row_flattens_a_rides_result_record():
    raw = {
        "ride_id": "0b6f3f52-6d3c-4f43-9a55-0b8e1d7f2c11",
        "ts": "2026-12-01T10:15:30+01:00",
        "origin": {"lat": 40.7580, "lon": -73.9855},
        "destination": {"lat": 40.6413, "lon": -73.7781},
        "comfort": "eco",
        "duration_min": 42,
        "price_base": 2.5,
        "price_per_km": 1.2,
        "price_per_min": 0.35,
    }
    result = price_record(orjson.dumps(raw)).result
    flat = row(result, 2, 77)
    assert flat["ts"] == datetime(2026, 12, 1, 9, 15, 30, tzinfo=UTC)
    assert flat["comfort"] == "low" and flat["origin_lat"] == 40.758
    assert flat["price_total"] == result["price_total"]
    assert table([flat]).schema == SCHEMA
