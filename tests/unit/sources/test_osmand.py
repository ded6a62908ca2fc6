"""OsmAnd protocol mapper against every case of the real-client corpus, and malformed requests."""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson
import pytest
from unit.sources.corpus_check import assert_same_points, check_every_case, load_jsonl

from geostream import contracts
from geostream.sources import RejectError, osmand

NOW = 1_760_000_000_000


def run(content_type, query, body=b""):
    try:
        mapped = osmand.from_request(content_type, query, body, now_ms=NOW)
    except RejectError as exc:
        return "reject", [], exc.reason
    for point in mapped.points:
        contracts.check("locations_topic", point)
    return ("accept" if mapped.points else "ignore"), mapped.points, mapped.ignored


def test_corpus(realclients):
    def check(row):
        request, want = row["request"], row["expect"]
        headers = {k.lower(): v for k, v in request["headers"].items()}
        action, points, _ = run(
            headers.get("content-type"), urlsplit(request["target"]).query, request["body"].encode()
        )
        assert action == want["action"]
        assert_same_points(want["points"], points, receive_window=(NOW, NOW))
        assert all(p["source"] == "osmand" for p in points)

    check_every_case(load_jsonl(realclients / "osmand_traccar.jsonl"), check)


@pytest.mark.parametrize(
    ("stamp", "ms"),
    [
        ("1749995112", 1_749_995_112_000),
        ("1749995112862", 1_749_995_112_862),
        ("1749995112.5", 1_749_995_112_500),
        ("2016-01-27T18:55:47Z", 1_453_920_947_000),
        ("2016-01-27T19:55:47+01:00", 1_453_920_947_000),
        ("2014-06-04 09:10:11", 1_401_873_011_000),
    ],
)
def test_timestamps(stamp, ms):
    assert osmand.parse_timestamp(stamp) == ms


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("lat=1&lon=2", "id (or deviceid) is required"),
        ("id=&lat=1&lon=2", "id (or deviceid) is required"),
        ("id=a&lat=abc&lon=2", "lat: 'abc' is not a number"),
        ("id=a&lat=1", "lat and lon must be sent together"),
        ("id=a&lat=91&lon=2", "latitude 91"),
        ("id=a&lat=1&lon=2&speed=fast", "speed"),
        ("id=a&lat=1&lon=2&timestamp=yesterday", "timestamp"),
        ("id=a&location=1", "location: must be 'lat,lon'"),
        ("id=a&lat=nan&lon=2", "lat: must be finite"),
        ("id=a&lat=1&lon=2&batt=150", "battery"),
    ],
)
def test_malformed_queries_are_rejected(query, reason):
    action, _, why = run(None, query)
    assert action == "reject"
    assert reason in why


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "body is not JSON"),
        (b"[]", "JSON object"),
        (b'{"location": {"coords": {"latitude": 1, "longitude": 2}}}', "device_id is required"),
        (b'{"device_id": "x", "location": []}', "location must be an object"),
        (b'{"device_id": "x", "location": {"coords": {"latitude": 1}}}', "coords.longitude"),
        (
            b'{"device_id": "x", "location": {"timestamp": "soon", '
            b'"coords": {"latitude": 1, "longitude": 2}}}',
            "location.timestamp",
        ),
    ],
)
def test_malformed_json_is_rejected(body, reason):
    action, _, why = run("application/json", "", body)
    assert action == "reject"
    assert reason in why


def test_form_body_only_when_the_query_is_empty():
    action, [point], _ = run(
        "application/x-www-form-urlencoded", "", b"id=f&lat=1&lon=2&timestamp=1700000000"
    )
    assert (action, point["vehicle_id"], point["ts"]) == ("accept", "f", 1_700_000_000_000)
    _, [point], _ = run("application/x-www-form-urlencoded", "id=q&lat=3&lon=4", b"id=f&lat=1&lon=2")
    assert (point["vehicle_id"], point["lat"]) == ("q", 3.0)


def test_json_without_coords_and_without_timestamp():
    assert run("application/json", "", b'{"device_id": "x", "location": {}}')[0] == "ignore"
    body = orjson.dumps({"device_id": 42, "location": {"coords": {"latitude": 1, "longitude": 2}}})
    _, [point], _ = run("application/json; charset=utf-8", "", body)
    assert point == {"vehicle_id": "42", "ts": NOW, "lon": 2.0, "lat": 1.0, "source": "osmand"}
