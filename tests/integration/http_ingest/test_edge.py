"""http-ingest at the edge, under gunicorn against the real broker: poison records refused by name,
tokens, delivery accounting when produce() fails, health that sees a producer unable to deliver, metrics
summed over workers, and memory under a 10 MiB junk body."""

from __future__ import annotations

import base64
import time
import uuid

import orjson
import psutil
import pytest
import requests
from support.kafka import read_topic
from support.processes import gunicorn_http_ingest

from geostream.kafka import make_batch_producer, produce_and_wait
from localservers import free_port

TOPIC = "locations_topic"
TOKEN, FLEET_TOKEN = "tok-alpha-7f3c9e", "tok-fleet-51d2aa"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def start(kafka, workdir):
    started = []

    def run(**env: str) -> tuple[str, object]:
        port = free_port()
        service = gunicorn_http_ingest(
            port, kafka.bootstrap, workdir / "logs" / f"{unique('http-ingest-edge')}.log", **env
        ).start()
        started.append(service)
        service.wait_healthy(f"http://127.0.0.1:{port}/health", accept=(200, 503))
        return f"http://127.0.0.1:{port}", service

    yield run
    for service in started:
        assert service.stop() == 0, "gunicorn did not shut down cleanly on SIGTERM"


@pytest.fixture(scope="module")
def secured(start):
    url, _ = start(INGEST_TOKENS=f"{TOKEN},{FLEET_TOKEN}:fleet-", OWNTRACKS_USERS="jane:pw-jane-1")
    return url


@pytest.fixture(scope="module")
def plain(start):
    """No credentials configured (the open default outside compose)."""
    url, _ = start()
    return url


def post_batch(url: str, raw: bytes, token: str | None = TOKEN) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(f"{url}/ingest/location", data=raw, headers=headers, timeout=30)


def keys_starting(kafka, marker: str) -> list:
    return read_topic(kafka.bootstrap, TOPIC, where=lambda r: (r.key or "").startswith(marker), settle=1.5)


NOW_S = int(time.time())


def item(vid: str, point=(1, 2), stamp=NOW_S) -> dict:
    return {"vehicleID": vid, "path": [list(point)], "timestamps": [stamp]}


POISON = [
    # (case, item for a unique marker, field named in the 400)
    ("nul-in-id", lambda m: item(m + "\x00x"), "vehicleID"),
    ("escape-in-id", lambda m: item(m + "\x1b[31m"), "vehicleID"),
    ("bidi-in-id", lambda m: item(m + "\u202e"), "vehicleID"),
    ("id-too-long", lambda m: item(m + "x" * 130), "vehicleID"),
    ("alt-1e308", lambda m: item(m, (1, 2, 1e308)), "path[0][2]"),
    ("epoch-zero", lambda m: item(m, stamp=0), "timestamps[0]"),
    ("before-floor", lambda m: item(m, stamp="1999-11-20T00:00:00Z"), "timestamps[0]"),
    ("one-hour-ahead", lambda m: item(m, stamp=NOW_S + 3600), "timestamps[0]"),
    ("ts-1e308", lambda m: item(m, stamp=1e308), "timestamps[0]"),
    ("ts-nul-string", lambda m: item(m, stamp="\x00"), "timestamps[0]"),
]


@pytest.mark.parametrize(("case", "make", "field"), POISON, ids=[c[0] for c in POISON])
def test_poison_items_are_refused_by_field_and_nothing_is_sent(secured, kafka, case, make, field):
    marker = unique(case)
    reply = post_batch(secured, orjson.dumps([item(marker), make(marker)]))
    assert reply.status_code == 400, reply.text
    error = reply.json()
    assert error["error"] == "invalid_batch"
    assert [e["field"] for e in error["errors"]] == [f"[1].{field}"], error
    assert keys_starting(kafka, marker) == []


@pytest.mark.parametrize(
    "raw",
    [
        b'[{"vehicleID":"\xff\xfe","path":[[1,2]],"timestamps":[1700000000]}]',
        b'[{"vehicleID":"a\\ud800","path":[[1,2]],"timestamps":[1700000000]}]',
        b'[{"vehicleID":"a","path":[[1,2]],"timestamps":[1700000000]}]\x00',
    ],
    ids=["invalid-utf8", "lone-surrogate", "trailing-nul"],
)
def test_invalid_unicode_in_the_body_is_invalid_json(secured, raw):
    reply = post_batch(secured, raw)
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_json", reply.text


def test_tokens_and_prefix_binding(secured, kafka):
    body = orjson.dumps([{"vehicleID": unique("anon"), "path": [[1, 2]], "timestamps": [NOW_S]}])
    reply = post_batch(secured, body, token=None)
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert post_batch(secured, body, token="tok-wrong-000000").status_code == 401
    assert post_batch(secured, body, token=TOKEN).status_code == 202

    foreign = unique("truck")
    reply = post_batch(
        secured, orjson.dumps([{"vehicleID": foreign, "path": [[1, 2]], "timestamps": [NOW_S]}]), FLEET_TOKEN
    )
    assert reply.status_code == 403 and reply.json()["errors"][0]["field"] == "vehicleID"
    own = unique("fleet-")
    reply = post_batch(
        secured, orjson.dumps([{"vehicleID": own, "path": [[1, 2]], "timestamps": [NOW_S]}]), FLEET_TOKEN
    )
    assert reply.status_code == 202
    assert [r.key for r in keys_starting(kafka, own)] == [own]
    assert keys_starting(kafka, foreign) == []


def test_osmand_needs_a_token_and_post(secured, kafka):
    device = unique("fleet-phone")
    query = f"id={device}&lat=52.5&lon=13.4&timestamp={NOW_S}"
    assert requests.post(f"{secured}/?{query}", timeout=10).status_code == 401
    # The GET form writes: refused unless OSMAND_ALLOW_GET=true, even with a valid token.
    reply = requests.get(f"{secured}/?{query}&token={TOKEN}", timeout=10)
    assert reply.status_code == 405 and "OSMAND_ALLOW_GET" in reply.json()["message"]
    assert (
        requests.post(f"{secured}/ingest/osmand?{query}&token=tok-wrong-000000", timeout=10).status_code
        == 401
    )
    assert requests.post(f"{secured}/?{query}&token={FLEET_TOKEN}", timeout=10).status_code == 200
    form = requests.post(
        f"{secured}/", data=f"id={device}&lat=52.6&lon=13.4&timestamp={NOW_S + 1}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )  # fmt: skip
    assert form.status_code == 200
    assert len(keys_starting(kafka, device)) == 2
    assert requests.get(f"{secured}/", timeout=10).json()["openapi"] == "/openapi.json"


def test_owntracks_basic_auth_and_case_folded_identity(secured, kafka):
    device = unique("Phone")
    auth = "Basic " + base64.b64encode(b"Jane:pw-jane-1").decode()
    body = orjson.dumps({"_type": "location", "lat": 1.5, "lon": 2.5, "tst": NOW_S})
    assert requests.post(f"{secured}/pub", data=body, timeout=10).status_code == 401
    bad_auth = {"Authorization": "Basic " + base64.b64encode(b"jane:nope").decode()}
    assert requests.post(f"{secured}/pub", data=body, headers=bad_auth, timeout=10).status_code == 401
    # The credentials name user "Jane"; the same user over MQTT is "jane" (owntracks/jane/...): one id.
    reply = requests.post(
        f"{secured}/pub?u=JANE&d={device}", data=body, headers={"Authorization": auth}, timeout=10
    )
    assert (reply.status_code, reply.content) == (200, b"[]")
    assert [r.key for r in keys_starting(kafka, f"jane/{device.lower()}")] == [f"jane/{device.lower()}"]


@pytest.mark.parametrize(
    ("target", "body", "headers"),
    [
        ("/pub", b'{"_type":"location","lat":1,"lon":2,"tst":1e308}', {}),
        ("/pub", b'{"_type":"location","lat":1,"lon":2,"tst":1700000000,"vel":"fast"}', {}),
        ("/pub", b'{"_type":[],"lat":1,"lon":2,"tst":1700000000}', {}),
        ("/pub", b'{"_type":"location","lat":1,"lon":2,"tst":0}', {}),
        ("/pub?u=a%00b&d=c", b'{"_type":"location","lat":1,"lon":2,"tst":1700000000}', {}),
        ("/ingest/osmand?id=x%00y&lat=1&lon=2", b"", {}),
        ("/ingest/osmand?id=%FF&lat=1&lon=2", b"", {}),
        ("/ingest/osmand?id=x&lat=1&lon=2&timestamp=1e308", b"", {}),
        ("/ingest/osmand", b'{"device_id":"x","location":{"coords":{"latitude":1,"longitude":2},'
         b'"battery":{"level":1e308}}}', {"Content-Type": "application/json"}),
        ("/ingest/osmand", b'{"device_id":"x","location":{"timestamp":"1970-01-01T00:00:00Z",'
         b'"coords":{"latitude":1,"longitude":2}}}', {"Content-Type": "application/json"}),
    ],
)  # fmt: skip
def test_phone_endpoints_answer_poison_with_400_never_500(plain, target, body, headers):
    reply = requests.post(f"{plain}{target}", data=body, headers=headers, timeout=10)
    assert reply.status_code == 400, (reply.status_code, reply.text)
    assert reply.json()["status"] == "error"


def test_produce_and_wait_counts_only_acknowledged_records(kafka):
    """A produce() that raises (here: a record over the broker's size limit) is a failed record, and
    the records handed over before it are waited for: the report is never 'complete' with points lost."""
    producer = make_batch_producer(kafka.bootstrap, client_id="edge-test", timeout_s=10)
    too_large = b"x" * 2_000_000
    alone = produce_and_wait(producer, TOPIC, [(b"edge", too_large)], timeout=10)
    assert (alone.total, alone.delivered, alone.complete) == (1, 0, False)
    key = unique("edge").encode()
    mixed = produce_and_wait(producer, TOPIC, [(key, b"{}"), (key, too_large), (key, b"{}")], timeout=10)
    assert (mixed.total, mixed.delivered, mixed.failed, mixed.complete) == (3, 1, 2, False)
    assert mixed.errors


def test_a_topic_that_cannot_take_records_gives_503_and_unhealthy(start):
    url, _ = start(KAFKA_TOPIC=unique("missing-topic"), INGEST_DELIVERY_TIMEOUT_S="2")
    health = requests.get(f"{url}/health", timeout=10)
    assert health.status_code == 503 and health.json()["delivery"].startswith("down"), health.text
    body = orjson.dumps([{"vehicleID": "lost", "path": [[1, 2], [1, 3]], "timestamps": [NOW_S, NOW_S + 1]}])
    reply = post_batch(url, body, token=None)
    assert reply.status_code == 503, reply.text
    assert reply.headers["Retry-After"] and reply.json()["delivered"] == 0 and reply.json()["failed"] == 2
    owntracks = requests.post(
        f"{url}/pub", data=b'{"_type":"location","lat":1,"lon":2,"tst":%d}' % NOW_S, timeout=30
    )
    assert owntracks.status_code == 503


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        named = line.startswith((name + "{", name + " "))
        if named and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_are_summed_over_the_workers(secured):
    before = requests.get(f"{secured}/metrics", timeout=10).text
    good = orjson.dumps([{"vehicleID": unique("m"), "path": [[1, 2]], "timestamps": [NOW_S]}])
    for _ in range(6):  # several connections: both workers answer some
        assert post_batch(secured, good).status_code == 202
        assert post_batch(secured, b"[", TOKEN).status_code == 400
        assert post_batch(secured, good, token=None).status_code == 401
    after = requests.get(f"{secured}/metrics", timeout=10).text
    accepted = "http_ingest_points_accepted_total"
    rejected = "http_ingest_rejected_total"
    assert metric(after, accepted, endpoint="location") - metric(before, accepted, endpoint="location") == 6
    assert (
        metric(after, rejected, reason="invalid_json") - metric(before, rejected, reason="invalid_json") == 6
    )
    assert (
        metric(after, rejected, reason="unauthorized") - metric(before, rejected, reason="unauthorized") == 6
    )
    assert metric(after, "http_ingest_delivery_seconds_count") >= 6


def test_memory_stays_bounded_under_a_10_mib_junk_body(start):
    url, service = start()
    workers = psutil.Process(service.process.pid).children()
    assert workers

    def rss_mib() -> float:
        return sum(w.memory_info().rss for w in workers) / 2**20

    before = rss_mib()
    junk = b"\x8f" * (10 * 2**20)  # exactly INGEST_MAX_BODY_BYTES: read, then refused as invalid JSON
    json_type = {"Content-Type": "application/json"}
    statuses = [
        requests.post(f"{url}/ingest/location", data=junk, headers=json_type, timeout=60).status_code
        for _ in range(4)
    ]
    over = requests.post(
        f"{url}/ingest/location", data=junk + b"xx", headers={"Content-Type": "application/json"}, timeout=60
    )
    phone = requests.post(f"{url}/pub", data=junk, timeout=60)
    after = rss_mib()
    print(
        f"\nhttp-ingest workers RSS: {before:.1f} MiB before, {after:.1f} MiB after 4 x 10 MiB junk bodies "
        f"(+{after - before:.1f} MiB, {len(workers)} workers); statuses {statuses}, "
        f"over the limit {over.status_code}, phone endpoint {phone.status_code}"
    )
    assert statuses == [400] * 4 and over.status_code == 413 and phone.status_code == 413
    assert all(w.is_running() for w in workers), "a worker died"
