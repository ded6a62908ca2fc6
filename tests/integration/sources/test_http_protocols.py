"""OwnTracks HTTP mode and the OsmAnd protocol in http-ingest under gunicorn, against the real broker:
every case of the real-client corpus, malformed requests, Basic auth, and Kafka being down."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator

import orjson
import pytest
from support.kafka import read_topic
from support.processes import gunicorn_http_ingest
from unit.sources.corpus_check import assert_same_points, expectation, load_jsonl

from localservers import KafkaServer, free_port

from .conftest import unique

SECRET = "mysecreTpass01"


class Ingest:
    def __init__(self, port: int, topic: str):
        self.port, self.topic = port, topic

    def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            # The corpus' own Content-Length values belong to its bodies as sent by the apps; recompute.
            headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-length"}
            connection.request(method, target, body=body, headers=headers)
            reply = connection.getresponse()
            return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
        finally:
            connection.close()


@pytest.fixture
def ingest_factory(kafka, workdir) -> Iterator:
    started = []

    def start(brokers: str | None = None, **env: str) -> Ingest:
        topic = unique("locations")
        from geostream.kafka import ensure_topics
        from geostream.topics import DAY_MS, Topic

        ensure_topics(brokers or kafka.bootstrap, [Topic(topic, 6, DAY_MS, key="vehicle id")])
        port = free_port()
        service = gunicorn_http_ingest(
            port, brokers or kafka.bootstrap, workdir / "logs" / f"{unique('http-ingest')}.log",
            KAFKA_TOPIC=topic, **env,
        ).start()  # fmt: skip
        started.append(service)
        service.wait_healthy(f"http://127.0.0.1:{port}/health")
        return Ingest(port, topic)

    yield start
    for service in started:
        assert service.stop() == 0, "gunicorn did not shut down cleanly on SIGTERM"


def records(kafka, ingest: Ingest, count: int | None = None):
    return [r.value for r in read_topic(kafka.bootstrap, ingest.topic, count=count, settle=2.0)]


@pytest.mark.parametrize("path", ["/pub", "/ingest/owntracks"])
@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "with-key"])
def test_owntracks_http_corpus(realclients, kafka, ingest_factory, path, with_key):
    ingest = ingest_factory(**({"OWNTRACKS_SECRET": SECRET} if with_key else {}))
    want = []
    for row in load_jsonl(realclients / "owntracks_http.jsonl"):
        request, expect = row["request"], expectation(row, with_key)
        target = request["path"].replace("/pub", path, 1)
        status, headers, body = ingest.request(
            request["method"], target, request["body"].encode(), request["headers"]
        )
        if expect["action"] == "reject":
            assert 400 <= status < 500, row["case"]
            error = orjson.loads(body)
            assert error["status"] == "error" and error["message"], row["case"]
        else:
            assert status == 200, (row["case"], body)
            assert headers["content-type"].startswith("application/json"), row["case"]
            assert isinstance(orjson.loads(body), list), row["case"]
        want += expect["points"]
    got = records(kafka, ingest, count=len(want))
    assert_same_points(want, got)
    assert {p["source"] for p in got} == {"owntracks"}


@pytest.mark.parametrize("prefix", ["", "/ingest/osmand"])
def test_osmand_corpus(realclients, kafka, ingest_factory, prefix):
    ingest = ingest_factory(OSMAND_ALLOW_GET="true")
    want = []
    start = int(time.time() * 1000)
    for row in load_jsonl(realclients / "osmand_traccar.jsonl"):
        request, expect = row["request"], row["expect"]
        target = prefix + request["target"] if prefix else request["target"]
        if prefix and request["target"].startswith("/?"):
            target = prefix + request["target"][1:]
        elif prefix:
            target = prefix
        status, _, body = ingest.request(
            request["method"], target, request["body"].encode(), request["headers"]
        )
        if expect["action"] == "reject":
            assert status == 400, row["case"]
            assert orjson.loads(body)["error"] == "invalid_osmand_request", row["case"]
        else:
            assert status == 200, (row["case"], body)
        want += expect["points"]
    end = int(time.time() * 1000)
    got = records(kafka, ingest, count=len(want))
    assert_same_points(want, got, receive_window=(start, end))
    assert {p["source"] for p in got} == {"osmand"}


MALFORMED = [
    ("POST", "/pub", b'{"_type":"location","lat":1', {"Content-Type": "application/json"}, "not JSON"),
    ("POST", "/pub", b"[1,2]", {"Content-Type": "application/json"}, "JSON object"),
    ("POST", "/pub", b'{"lat":1,"lon":2,"tst":1700000000}', {}, "_type is missing"),
    ("POST", "/ingest/owntracks", b'{"_type":"location","lat":91,"lon":2,"tst":1700000000}', {}, "latitude"),
    ("POST", "/ingest/owntracks", b'{"_type":"location","lat":1,"lon":2}', {}, "without tst"),
    ("GET", "/?lat=1&lon=2", b"", {}, "id (or deviceid) is required"),
    ("GET", "/ingest/osmand?id=x&lat=north&lon=2", b"", {}, "lat: 'north' is not a number"),
    ("GET", "/?id=x&lat=1&lon=2&timestamp=later", b"", {}, "timestamp"),
    (
        "POST",
        "/ingest/osmand",
        b'{"location": {"coords": {}}}',
        {"Content-Type": "application/json"},
        "device_id",
    ),
    ("POST", "/", b"{", {"Content-Type": "application/json"}, "body is not JSON"),
]


def test_malformed_requests_get_400_with_a_clear_json_error(kafka, ingest_factory):
    ingest = ingest_factory(OSMAND_ALLOW_GET="true")
    for method, target, body, headers, reason in MALFORMED:
        status, reply_headers, reply = ingest.request(method, target, body, headers)
        assert status == 400, (target, body, reply)
        assert reply_headers["content-type"] == "application/json"
        error = orjson.loads(reply)
        assert error["status"] == "error" and reason in error["message"], (target, error)
    status, _, reply = ingest.request("GET", "/pub")
    assert status == 405 and orjson.loads(reply)["status"] == "error"
    assert records(kafka, ingest) == []


def test_owntracks_basic_auth(kafka, ingest_factory):
    ingest = ingest_factory(OWNTRACKS_USERS="jane:pw1,bob:pw2")
    body = b'{"_type":"location","lat":1.5,"lon":2.5,"tst":1700000000,"topic":"owntracks/jane/phone"}'
    import base64

    def auth(user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    assert ingest.request("POST", "/pub", body)[0] == 401
    status, headers, _ = ingest.request("POST", "/pub", body, auth("jane", "wrong"))
    assert status == 401 and headers["www-authenticate"].startswith("Basic")
    assert ingest.request("POST", "/pub", body, {**auth("bob", "pw2"), "X-Limit-U": "jane"})[0] == 403
    status, _, reply = ingest.request("POST", "/pub", body, auth("jane", "pw1"))
    assert (status, reply) == (200, b"[]")
    [point] = records(kafka, ingest, count=1)
    assert point["vehicle_id"] == "jane/phone"


def test_kafka_down_gives_503_and_the_apps_retry(workdir, ingest_factory):
    broker = KafkaServer(workdir / unique("kafka-down")).start()
    try:
        ingest = ingest_factory(
            brokers=broker.bootstrap, INGEST_DELIVERY_TIMEOUT_S="3", OSMAND_ALLOW_GET="true"
        )
        broker.stop()
        location = b'{"_type":"location","lat":1.5,"lon":2.5,"tst":1700000000}'
        status, headers, _ = ingest.request("POST", "/pub", location, {"X-Limit-U": "a", "X-Limit-D": "b"})
        assert status == 503 and headers["retry-after"] == "5"
        status, headers, _ = ingest.request("GET", "/?id=z&lat=1&lon=2&timestamp=1700000000")
        assert status == 503 and headers["retry-after"] == "5"
        # A message without a point needs no Kafka: still 200 [].
        assert ingest.request("POST", "/pub", b'{"_type":"lwt"}')[:1] == (200,)
    finally:
        broker.stop()
