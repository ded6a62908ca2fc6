"""Poison inputs at the edge: every one is refused with the field named; every point that passes is one
the contract, PostgreSQL (text without NUL, float8) and the Flink job accept."""

from __future__ import annotations

import math
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geostream import contracts
from geostream.identity import VEHICLE_ID_MAX_LEN, IdentityError, normalize_vehicle_id
from geostream.locations import DEFAULT_MIN_TS_MS, BatchError, PointError, make_point, parse_batch
from geostream.sources import RejectError, custom, opensky, osmand, owntracks
from geostream.timestamps import TimestampError, TimeWindow, seconds_to_ms

NOW = 1_760_000_000_000
TS = NOW - 60_000


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("bus\x00", "U+0000"),
        ("bus\n7", "U+000A"),
        ("bus\x1b[31m", "U+001B"),
        ("\u202ebus", "format"),
        ("bus\ud800", "surrogate"),
        ("bus\ufffd", "U+FFFD"),
        ("bus\u00a07", "space other than"),
        ("bus\u2028x", "line separator"),
        ("\ue000", "private-use"),
        ("x" * (VEHICLE_ID_MAX_LEN + 1), "longer"),
        ("x" * 100_000, "longer"),
        ("", "empty"),
        ("   ", "empty"),
        ("a//b", "non-empty"),
        ("/a", "non-empty"),
        ("a/", "non-empty"),
        (42, "string"),
        (None, "string"),
        ([], "string"),
    ],
)
def test_refused_vehicle_ids(raw, reason):
    with pytest.raises(IdentityError, match=re.escape(reason)):
        normalize_vehicle_id(raw)


def test_normalisation_trims_composes_and_folds_case_only_when_asked():
    decomposed = "Cafe\u0301-1"
    assert normalize_vehicle_id(f"  {decomposed} ") == "Caf\u00e9-1"
    assert normalize_vehicle_id("Jane/Phone") == "Jane/Phone"
    assert normalize_vehicle_id("Jane/Phone", fold_case=True) == "jane/phone"
    assert normalize_vehicle_id("x" * VEHICLE_ID_MAX_LEN) == "x" * VEHICLE_ID_MAX_LEN


def test_owntracks_id_is_the_same_over_mqtt_and_http():
    over_mqtt = owntracks.vehicle_id_from_topic("owntracks/Jane/iPhone")
    over_http = owntracks.http_vehicle_id({"X-Limit-U": "jane", "X-Limit-D": "IPHONE"}, {}, {})
    assert over_mqtt == over_http == "jane/iphone"
    doc = {"_type": "location", "lat": 1, "lon": 2, "tst": TS // 1000}
    [point] = owntracks.map_document(doc, "Jane/iPhone", now_ms=NOW).points
    assert point["vehicle_id"] == "jane/iphone"


@given(st.text(max_size=200))
def test_any_accepted_id_is_storable_text(text):
    try:
        vid = normalize_vehicle_id(text)
    except IdentityError:
        return
    assert 1 <= len(vid) <= VEHICLE_ID_MAX_LEN and vid == vid.strip()
    assert "\x00" not in vid and vid.encode("utf-8")  # no lone surrogate: encodes strictly
    assert unicodedata.normalize("NFC", vid) == vid
    assert all(unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn") for c in vid)


@pytest.mark.parametrize(
    ("optional", "field"),
    [
        ({"speed": 1e308}, "speed"),
        ({"speed": math.inf}, "speed"),
        ({"speed": math.nan}, "speed"),
        ({"speed": "fast"}, "speed"),
        ({"speed": [1]}, "speed"),
        ({"speed": True}, "speed"),
        ({"heading": -1e-9}, "heading"),
        ({"alt": 1e308}, "alt"),
        ({"alt": 10**400}, "alt"),
        ({"accuracy": -3}, "accuracy"),
        ({"battery": 101}, "battery"),
    ],
)
def test_absurd_or_mistyped_optional_fields_are_refused_by_name(optional, field):
    with pytest.raises(PointError) as info:
        make_point("v", TS, 1, 2, source="mqtt", now_ms=NOW, **optional)
    assert info.value.field == field


def test_time_window_floor_and_future_skew():
    window = TimeWindow(DEFAULT_MIN_TS_MS, 300_000)
    assert window.check(NOW + 300_000, NOW) == NOW + 300_000
    with pytest.raises(TimestampError, match="future"):
        window.check(NOW + 300_001, NOW)
    with pytest.raises(TimestampError, match="floor"):
        window.check(0, NOW)
    with pytest.raises(TimestampError, match="floor"):
        window.check(DEFAULT_MIN_TS_MS - 1, NOW)
    for bad in (1e308, math.inf, math.nan, -1, "1", True, None):
        with pytest.raises(TimestampError):
            seconds_to_ms(bad)


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [(0, "floor"), (1, "floor"), ("1970-01-01T00:00:00Z", "floor"), (1e308, "s, ms, us or ns"),
     ("1e308", "s, ms, us or ns"), ("inf", "finite"), (NOW // 1000 + 3600, "future"), ("\x00", "ISO")],
)  # fmt: skip
def test_batch_timestamps_outside_the_window_name_their_field(stamp, reason):
    with pytest.raises(BatchError, match=reason) as info:
        parse_batch([{"vehicleID": "a", "path": [[1, 2]], "timestamps": [stamp]}], now_ms=NOW, max_points=9)
    assert [e.field for e in info.value.errors] == ["[0].timestamps[0]"]


def test_batch_vehicle_id_with_nul_is_refused_by_name():
    with pytest.raises(BatchError, match="U\\+0000") as info:
        parse_batch(
            [{"vehicleID": "bus\x007", "path": [[1, 2]], "timestamps": [TS]}], now_ms=NOW, max_points=9
        )
    assert [e.field for e in info.value.errors] == ["[0].vehicleID"]


def test_the_issue_poison_messages_are_rejects_not_crashes():
    with pytest.raises(RejectError, match="source"):
        custom.map_document({"vehicle_id": "a", "lon": 1, "lat": 2, "source": []}, None, now_ms=NOW)
    with pytest.raises(RejectError, match="speed"):
        custom.map_document({"vehicle_id": "a", "lon": 1, "lat": 2, "speed": "fast"}, None, now_ms=NOW)
    with pytest.raises(RejectError, match="tst"):
        owntracks.map_document({"_type": "location", "lat": 1, "lon": 2, "tst": 1e308}, "u/d", now_ms=NOW)
    with pytest.raises(RejectError, match="_type"):
        owntracks.map_document({"_type": [], "lat": 1, "lon": 2, "tst": 1}, "u/d", now_ms=NOW)
    with pytest.raises(RejectError, match="time_position"):
        opensky.state_point(["abc", None, "x", 1e308, 0, 1.0, 2.0], now_ms=NOW)
    with pytest.raises(RejectError, match="battery"):
        osmand.from_json(
            b'{"device_id":"d","location":{"coords":{"latitude":1,"longitude":2},"battery":{"level":1e308}}}',
            now_ms=NOW,
        )
    with pytest.raises(RejectError, match="UTF-8"):
        osmand.from_request(None, b"id=%FF&lat=1&lon=2", b"", now_ms=NOW)
    with pytest.raises(RejectError, match="U\\+0000"):
        osmand.from_request(None, b"id=a%00b&lat=1&lon=2", b"", now_ms=NOW)


def test_owntracks_tst_in_seconds_is_converted_once():
    """tst = 5e7 s is 1971: a second unit detection would have read 5e10 ms as seconds (3554)."""
    doc = {"_type": "location", "lat": 1, "lon": 2, "tst": 50_000_000}
    with pytest.raises(RejectError, match="floor"):
        owntracks.map_document(doc, "u/d", now_ms=NOW)
    [point] = owntracks.map_document(doc, "u/d", now_ms=NOW, min_ts_ms=0).points
    assert point["ts"] == 50_000_000_000


JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
CONTRACT_FIELDS = ("vehicle_id", "ts", "lon", "lat", "speed", "heading", "alt", "accuracy", "battery")
OWNTRACKS_FIELDS = ("source", "_type", "tst", "vel", "cog", "acc", "batt", "topic")
FIELDS = st.sampled_from(CONTRACT_FIELDS + OWNTRACKS_FIELDS)


@given(st.dictionaries(FIELDS, JSONISH, max_size=10))
def test_any_document_is_a_point_an_ignore_or_a_reject(doc):
    for mapper in (
        lambda d: custom.map_document(d, "dev", now_ms=NOW),
        lambda d: owntracks.map_document({**d, "_type": "location"}, "u/d", now_ms=NOW),
        lambda d: owntracks.map_document(d, "u/d", now_ms=NOW),
    ):
        try:
            mapped = mapper(doc)
        except RejectError:
            continue
        for point in mapped.points:
            contracts.check("locations_topic", point)
            assert point["ts"] >= DEFAULT_MIN_TS_MS
