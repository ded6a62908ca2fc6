"""Wire formats: records to points, frames, client messages and their error replies."""

from __future__ import annotations

import orjson
import pytest

from ws_relay.geo import BBox
from ws_relay.protocol import (
    LAZY_POINTS,
    ClientMessageError,
    LazyFrame,
    MalformedRecordError,
    Viewport,
    decode_point,
    error_frame,
    frame,
    make_frame,
    parse_client_message,
)
from ws_relay.stats import Stats, Throttle


def test_valid_record_is_reencoded_compactly():
    raw = (
        b'{ "vehicle_id": "bus-7", "ts": 1700000000000, "lon": 2.35, "lat": 48.85, "speed": 12.5,\n'
        b'"heading": null }'
    )
    point = decode_point(raw)
    assert (point.vehicle_id, point.ts, point.lon, point.lat) == ("bus-7", 1700000000000, 2.35, 48.85)
    assert point.json == (
        b'{"vehicle_id":"bus-7","ts":1700000000000,"lon":2.35,"lat":48.85,"speed":12.5,"heading":null}'
    )


@pytest.mark.parametrize(
    ("raw", "kind", "reason"),
    [
        (None, "empty", "no value"),
        (b"", "empty", "no value"),
        (b"not json", "not_json", ""),
        (b'{"vehicle_id": "a", "ts": 1', "not_json", ""),
        (b"[1, 2]", "contract", "not a JSON object"),
        (b'"text"', "contract", "not a JSON object"),
        (b'{"vehicle_id": "a", "ts": 1, "lon": 200, "lat": 0}', "contract", "lon"),
        (b'{"vehicle_id": "a", "ts": "yesterday", "lon": 0, "lat": 0}', "contract", "ts"),
        (b'{"vehicleID": "a", "ts": 1, "lon": 0, "lat": 0}', "contract", "vehicle_id"),
        (b'{"vehicle_id": "a", "ts": 1, "lon": 0, "lat": 0, "extra": 1}', "contract", "extra"),
        (b'{"vehicle_id": "", "ts": 1, "lon": 0, "lat": 0}', "contract", "vehicle_id"),
    ],
)
def test_malformed_records(raw, kind, reason):
    with pytest.raises(MalformedRecordError) as caught:
        decode_point(raw)
    assert caught.value.kind == kind
    assert reason in caught.value.reason


def test_frames_are_json_with_the_points_verbatim():
    points = [b'{"vehicle_id":"a","ts":1,"lon":0.5,"lat":1.5}', b'{"vehicle_id":"b","ts":2,"lon":0,"lat":0}']
    assert orjson.loads(frame("update", points)) == {
        "type": "update",
        "vehicles": [orjson.loads(p) for p in points],
    }
    assert orjson.loads(frame("snapshot", [])) == {"type": "snapshot", "vehicles": []}
    assert orjson.loads(error_frame('bad "thing"')) == {"type": "error", "error": 'bad "thing"'}


@pytest.mark.parametrize("count", [0, 1, 2, 999, 1000, 1001, 2500])
def test_lazy_frame_fragments_join_to_the_same_frame(count):
    points = [orjson.dumps({"vehicle_id": f"v{i}", "ts": i, "lon": 0.5, "lat": -0.5}) for i in range(count)]
    lazy = LazyFrame("snapshot", points)
    pieces = list(lazy.fragments(per_fragment=1000))
    assert len(pieces) == max(1, -(-count // 1000))
    assert b"".join(pieces) == frame("snapshot", points) == bytes(lazy)
    assert len(lazy) == len(bytes(lazy))
    assert list(lazy.fragments(per_fragment=1000)) == pieces  # one frame, many clients: each gets it all


def test_only_large_frames_are_lazy():
    small = [b'{"vehicle_id":"a","ts":1,"lon":0,"lat":0}'] * LAZY_POINTS
    assert isinstance(make_frame("update", small), bytes)
    assert isinstance(make_frame("update", [*small, small[0]]), LazyFrame)


def test_viewport_messages():
    assert parse_client_message('{"type":"viewport","bbox":[1,2,3,4]}') == Viewport(BBox(1, 2, 3, 4))
    assert parse_client_message('{"type":"viewport","bbox":null}') == Viewport(None)
    assert parse_client_message(
        '{"type":"viewport","bbox":[170,0,-170,5],"zoom":3}'
    ).bbox.crosses_antimeridian


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        (b'{"type":"viewport","bbox":null}', "binary frames are not accepted"),
        ("", "not valid JSON"),
        ("{oops", "not valid JSON"),
        ("[1,2]", "must be a JSON object"),
        ("null", "must be a JSON object"),
        ('{"bbox":[1,2,3,4]}', "unknown message type 'null'"),
        ('{"type":"subscribe"}', "unknown message type 'subscribe'"),
        ('{"type":7}', "unknown message type '7'"),
        ('{"type":"viewport"}', 'needs "bbox"'),
        ('{"type":"viewport","bbox":[1,2,3]}', "invalid bbox: bbox must be"),
        ('{"type":"viewport","bbox":[1,20,3,10]}', "invalid bbox: minLat"),
        ('{"type":"viewport","bbox":"1,2,3,4"}', "invalid bbox"),
    ],
)
def test_bad_client_messages_get_a_readable_reply(message, reply):
    with pytest.raises(ClientMessageError, match=reply.replace("(", r"\(")):
        parse_client_message(message)


def test_stats_document_malformed_kinds():
    stats = Stats()
    stats.malformed["not_json"] += 2
    stats.malformed["contract"] += 1
    body = stats.as_dict()
    assert body["records_malformed"] == 3
    assert body["records_malformed_by_kind"] == {"not_json": 2, "contract": 1}


def test_throttle_lets_a_burst_through_then_one_per_interval():
    throttle = Throttle(burst=3, interval=10)
    assert [throttle.allow(0.0) for _ in range(5)] == [True, True, True, False, False]
    assert throttle.allow(5.0) is False
    assert throttle.allow(10.0) is True
    assert throttle.allow(11.0) is False
    assert throttle.seen == 8
