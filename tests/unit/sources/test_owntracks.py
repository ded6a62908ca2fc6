"""OwnTracks mapper against every case of the real-client corpus, and its edge cases."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.sources.corpus_check import assert_same_points, check_every_case, expectation, load_jsonl

from geostream import contracts
from geostream.sources import RejectError, owntracks

NOW = 1_760_000_000_000
SECRET = "mysecreTpass01"


def run(payload, vehicle_id="u/d", secret=None):
    try:
        mapped = owntracks.map_message(payload, vehicle_id, now_ms=NOW, secret=secret)
    except RejectError as exc:
        return "reject", [], exc.reason
    for point in mapped.points:
        contracts.check("locations_topic", point)
    return ("accept" if mapped.points else "ignore"), mapped.points, mapped.ignored


@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "with-key"])
def test_mqtt_corpus(realclients, with_key):
    def check(row):
        want = expectation(row, with_key)
        vehicle_id = owntracks.vehicle_id_from_topic(row["topic"])
        action, points, _ = run(row["payload"], vehicle_id, SECRET if with_key else None)
        assert action == want["action"]
        assert_same_points(want["points"], points)
        assert all(p["source"] == "owntracks" for p in points)

    check_every_case(load_jsonl(realclients / "owntracks_mqtt.jsonl"), check)


@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "with-key"])
def test_http_corpus_mapping(realclients, with_key):
    def check(row):
        want = expectation(row, with_key)
        request = row["request"]
        query = dict(parse_qsl(urlsplit(request["path"]).query))
        action, points, _ = run(
            request["body"],
            lambda doc: owntracks.http_vehicle_id(request["headers"], query, doc),
            SECRET if with_key else None,
        )
        assert action == want["action"]
        assert_same_points(want["points"], points)

    check_every_case(load_jsonl(realclients / "owntracks_http.jsonl"), check)


def test_units_and_unknowns():
    payload = {"_type": "location", "lat": 1.5, "lon": 2.5, "tst": 1_700_000_000, "vel": 36, "cog": 90}
    _, [point], _ = run(orjson.dumps({**payload, "acc": 0.0, "alt": -12.5, "batt": 50}))
    assert point == {
        "vehicle_id": "u/d",
        "ts": 1_700_000_000_000,
        "lon": 2.5,
        "lat": 1.5,
        "speed": 10.0,
        "heading": 90.0,
        "alt": -12.5,
        "accuracy": 0.0,
        "battery": 50.0,
        "source": "owntracks",
    }
    # iOS writes -1 for what it does not know: unknown, not an error.
    _, [point], _ = run(orjson.dumps({**payload, "vel": -1, "cog": -1, "acc": -1, "batt": -1}))
    assert set(point) == {"vehicle_id", "ts", "lon", "lat", "source"}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"lat": 1, "lon": 2, "tst": 1700000000}', "_type is missing"),
        (b'{"_type": "location", "lon": 2, "tst": 1700000000}', "without lat"),
        (b'{"_type": "location", "lat": 1, "tst": 1700000000}', "without lon"),
        (b'{"_type": "location", "lat": 1, "lon": 2}', "without tst"),
        (b'{"_type": "location", "lat": 1, "lon": 2, "tst": "1700000000"}', "tst: must be epoch seconds"),
        (b'{"_type": "location", "lat": 95, "lon": 2, "tst": 1700000000}', "lat: latitude 95"),
        (b'{"_type": "location", "lat": 1, "lon": "2", "tst": 1700000000}', "lon: must be a number"),
        (b'{"_type": "location", "lat": 1, "lon": 2, "tst": 1700000000, "cog": 400}', "cog"),
        (b'{"_type": "location", "lat": 1, "lon": 2, "tst": 4102444800}', "in the future"),
        (b'{"_type": "encrypted"}', "data"),
    ],
)
def test_rejects_name_the_problem(payload, reason):
    action, _, why = run(payload, secret=SECRET)
    assert action == "reject"
    assert reason in why


def test_ignored_types_and_empty_payloads():
    for payload in (b"", b"  \n", b'{"_type":"lwt"}', b'{"_type":"transition","lat":1,"lon":2,"tst":1}'):
        action, points, why = run(payload)
        assert (action, points) == ("ignore", [])
        assert why


def test_encryption_round_trip_and_wrong_key():
    plain = b'{"_type":"location","lat":48.85,"lon":2.29,"tst":1700000000}'
    data = owntracks.encrypt(plain, "s3cret", os.urandom(24))
    assert owntracks.decrypt(data, "s3cret") == plain
    envelope = orjson.dumps({"_type": "encrypted", "data": data})
    assert run(envelope, secret="s3cret")[0] == "accept"
    assert run(envelope)[0] == "ignore"
    action, _, why = run(envelope, secret="other")
    assert action == "reject" and "does not decrypt" in why
    assert run(b'{"_type":"encrypted","data":"%%%"}', secret="s3cret")[2] == "encrypted data is not base64"


def test_key_is_the_secret_nul_padded_to_32_bytes():
    assert owntracks.secret_key("ab") == b"ab" + b"\0" * 30
    assert owntracks.secret_key("x" * 40) == b"x" * 32


@pytest.mark.parametrize(
    ("topic", "vehicle_id"),
    [
        ("owntracks/jane/iphone", "jane/iphone"),
        ("owntracks/jane/iphone/event", "jane/iphone"),
        ("owntracks/jane", None),
        ("devices/x/location", None),
    ],
)
def test_vehicle_id_from_topic(topic, vehicle_id):
    assert owntracks.vehicle_id_from_topic(topic) == vehicle_id


def test_http_identity_precedence():
    doc = {"topic": "owntracks/Topic-User/Topic-Dev", "tid": "TT"}
    assert owntracks.http_vehicle_id({"X-Limit-U": "Jane", "X-Limit-D": "3S"}, {"u": "q"}, doc) == "jane/3s"
    assert owntracks.http_vehicle_id({}, {"u": "Q", "d": "p"}, doc) == "q/p"
    assert owntracks.http_vehicle_id({}, {}, doc) == "topic-user/topic-dev"
    assert owntracks.http_vehicle_id({}, {}, {"tid": "TT"}, auth_user="bob") == "bob/tt"
    assert owntracks.http_vehicle_id({}, {}, {}) == "owntracks/phone"


@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    tst=st.integers(946_684_800, NOW // 1000),
    vel=st.one_of(st.none(), st.integers(-1, 400)),
    cog=st.one_of(st.none(), st.integers(-1, 360)),
    batt=st.one_of(st.none(), st.integers(-1, 100)),
)
def test_any_valid_location_is_a_contract_message(lat, lon, tst, vel, cog, batt):
    doc = {"_type": "location", "lat": lat, "lon": lon, "tst": tst, "vel": vel, "cog": cog, "batt": batt}
    action, points, _ = run(orjson.dumps({k: v for k, v in doc.items() if v is not None}))
    if tst * 1000 < 1e11:
        return  # before March 1973: not a fix any OwnTracks app can report
    assert action == "accept"
    assert points[0]["ts"] == tst * 1000
