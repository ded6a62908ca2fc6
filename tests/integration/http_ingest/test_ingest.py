"""http-ingest against the real broker: what a 202 promises, and what every bad request gets."""

from __future__ import annotations

import uuid

import orjson
import pytest
import requests
from support.kafka import read_topic

from geostream import contracts

TOPIC = "locations_topic"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def post(
    url: str, body, content_type: str = "application/json", raw: bytes | None = None
) -> requests.Response:
    data = raw if raw is not None else orjson.dumps(body)
    return requests.post(
        f"{url}/ingest/location", data=data, headers={"Content-Type": content_type}, timeout=30
    )


def records_of(kafka, vehicle_ids: set[str], count: int | None = None):
    return read_topic(kafka.bootstrap, TOPIC, where=lambda r: r.key in vehicle_ids, count=count)


def test_prototype_curl_example(ingest, kafka):
    vid = unique("plane")
    body = [
        {"vehicleID": vid, "path": [[1.1543, 56.74], [1.1643, 56.84]], "timestamps": [1693564800, 1693568400]}
    ]
    reply = post(ingest, body)
    assert reply.status_code == 202
    assert reply.json() == {
        "status": "ok",
        "sent": 2,
        "message": "Points sent to processing pipeline",
        "duplicates": 0,
    }
    records = records_of(kafka, {vid}, count=2)
    assert [r.value for r in sorted(records, key=lambda r: r.offset)] == [
        {"vehicle_id": vid, "ts": 1693564800000, "lon": 1.1543, "lat": 56.74, "source": "http"},
        {"vehicle_id": vid, "ts": 1693568400000, "lon": 1.1643, "lat": 56.84, "source": "http"},
    ]


def test_points_are_keyed_one_partition_per_vehicle_in_order_and_contract_valid(ingest, kafka):
    vehicles = [unique(f"truck{i}") for i in range(8)]
    body = [
        {
            "vehicleID": v,
            "path": [[i * 0.01, 45 + j * 0.001] for j in range(25)],
            "timestamps": [1.7e9 + j for j in range(25)],
        }
        for i, v in enumerate(vehicles)
    ]
    assert post(ingest, body).status_code == 202
    records = records_of(kafka, set(vehicles), count=200)
    assert len(records) == 200
    by_vehicle: dict[str, list] = {}
    for r in records:
        contracts.check(TOPIC, r.value)
        assert r.key == r.value["vehicle_id"]
        by_vehicle.setdefault(r.key, []).append(r)
    for v, recs in by_vehicle.items():
        assert len({r.partition for r in recs}) == 1, f"{v} spread over partitions"
        ordered = sorted(recs, key=lambda r: r.offset)
        assert [r.value["ts"] for r in ordered] == sorted(r.value["ts"] for r in recs)
    assert len({recs[0].partition for recs in by_vehicle.values()}) > 1, "8 vehicles all on one partition"


def test_murmur2_partition_matches_the_java_client(ingest, kafka):
    """aiokafka (the relay's client), kafka-python and the Java client would choose the same partition."""
    from aiokafka.partitioner import DefaultPartitioner

    vid = unique("m2")
    assert post(ingest, [{"vehicleID": vid, "path": [[0, 0]], "timestamps": [1.7e9]}]).status_code == 202
    (record,) = records_of(kafka, {vid}, count=1)
    assert record.partition == DefaultPartitioner()(vid.encode(), list(range(6)), list(range(6)))


def test_duplicates_in_one_request_are_sent_once(ingest, kafka):
    vid = unique("dup")
    body = [{"vehicleID": vid, "path": [[1, 1], [1, 1], [2, 2]], "timestamps": [1.7e9, 1.7e9, 1.7e9 + 1]}]
    reply = post(ingest, body)
    assert reply.status_code == 202 and reply.json()["sent"] == 2 and reply.json()["duplicates"] == 1
    assert len(records_of(kafka, {vid})) == 2


def test_late_points_are_accepted_as_event_time(ingest, kafka):
    vid = unique("late")
    body = [
        {
            "vehicleID": vid,
            "path": [[1, 1], [1, 2]],
            "timestamps": ["2024-05-01T10:00:10Z", "2024-05-01T10:00:00Z"],
        }
    ]
    assert post(ingest, body).status_code == 202
    assert sorted(r.value["ts"] for r in records_of(kafka, {vid}, count=2)) == [1714557600000, 1714557610000]


def test_health_and_openapi(ingest):
    assert requests.get(f"{ingest}/health", timeout=5).json() == {
        "status": "ok",
        "kafka": "up",
        "delivery": "up",
    }
    spec = requests.get(f"{ingest}/openapi.json", timeout=5).json()
    assert spec["openapi"].startswith("3.") and "/ingest/location" in spec["paths"]


V = {"vehicleID": "bad", "path": [[1.0, 2.0]], "timestamps": [1.7e9]}
J = "application/json"
BAD_REQUESTS = [
    # (id, body or raw bytes, content type, status, field named in the error)
    ("invalid-json", b'[{"vehicleID": "x",', J, 400, ""),
    ("not-json-at-all", b"hello", J, 400, ""),
    ("empty-body", b"", J, 400, ""),
    ("nan-literal", b'[{"vehicleID":"x","path":[[NaN,1]],"timestamps":[1]}]', J, 400, ""),
    ("object-not-list", {"vehicleID": "x"}, J, 400, ""),
    ("string-body", "points", J, 400, ""),
    ("null-body", None, J, 400, ""),
    ("empty-list", [], J, 400, ""),
    ("item-not-object", [1], J, 400, "[0]"),
    ("missing-vehicle", [{"path": [[1, 2]], "timestamps": [1.7e9]}], J, 400, "[0].vehicleID"),
    ("missing-path", [{"vehicleID": "x", "timestamps": [1.7e9]}], J, 400, "[0].path"),
    ("missing-timestamps", [{"vehicleID": "x", "path": [[1, 2]]}], J, 400, "[0].timestamps"),
    ("empty-vehicle", [{**V, "vehicleID": ""}], J, 400, "[0].vehicleID"),
    ("blank-vehicle", [{**V, "vehicleID": "   "}], J, 400, "[0].vehicleID"),
    ("numeric-vehicle", [{**V, "vehicleID": 42}], J, 400, "[0].vehicleID"),
    ("long-vehicle", [{**V, "vehicleID": "x" * 129}], J, 400, "[0].vehicleID"),
    ("path-not-list", [{**V, "path": "1,2"}], J, 400, "[0].path"),
    ("timestamps-not-list", [{**V, "timestamps": 1.7e9}], J, 400, "[0].timestamps"),
    ("length-mismatch", [{**V, "timestamps": [1.7e9, 1.7e9 + 1]}], J, 400, "[0]"),
    ("empty-path", [{**V, "path": [], "timestamps": []}], J, 400, "[0].path"),
    ("point-one-value", [{**V, "path": [[1.0]]}], J, 400, "[0].path[0]"),
    ("point-four-values", [{**V, "path": [[1, 2, 3, 4]]}], J, 400, "[0].path[0]"),
    ("point-object", [{**V, "path": [{"lon": 1, "lat": 2}]}], J, 400, "[0].path[0]"),
    ("lon-string", [{**V, "path": [["1.0", 2.0]]}], J, 400, "[0].path[0][0]"),
    ("lat-null", [{**V, "path": [[1.0, None]]}], J, 400, "[0].path[0][1]"),
    ("lat-bool", [{**V, "path": [[1.0, True]]}], J, 400, "[0].path[0][1]"),
    ("lat-above-90", [{**V, "path": [[1.0, 90.0001]]}], J, 400, "[0].path[0][1]"),
    ("lat-below-minus-90", [{**V, "path": [[1.0, -91]]}], J, 400, "[0].path[0][1]"),
    ("lon-above-180", [{**V, "path": [[180.5, 2]]}], J, 400, "[0].path[0][0]"),
    ("lon-below-minus-180", [{**V, "path": [[-181, 2]]}], J, 400, "[0].path[0][0]"),
    ("huge-number", b'[{"vehicleID":"x","path":[[1e400,1]],"timestamps":[1]}]', J, 400, ""),
    ("alt-string", [{**V, "path": [[1, 2, "high"]]}], J, 400, "[0].path[0][2]"),
    ("timestamp-text", [{**V, "timestamps": ["yesterday"]}], J, 400, "[0].timestamps[0]"),
    ("timestamp-negative", [{**V, "timestamps": [-5]}], J, 400, "[0].timestamps[0]"),
    ("timestamp-bool", [{**V, "timestamps": [True]}], J, 400, "[0].timestamps[0]"),
    ("timestamp-far-future", [{**V, "timestamps": [4102444800]}], J, 400, "[0].timestamps[0]"),
    ("second-item-bad", [V, {**V, "path": [[1, 95]]}], J, 400, "[1].path[0][1]"),
    ("too-many-points", [{**V, "path": [[1, 2]] * 100_001, "timestamps": [1.7e9] * 100_001}], J, 400, ""),
    ("text-plain", [V], "text/plain", 415, None),
    ("form-encoded", [V], "application/x-www-form-urlencoded", 415, None),
    ("no-content-type", [V], "", 415, None),
    ("body-over-limit", b"[" + b" " * (11 * 1024 * 1024) + b"]", J, 413, None),
]  # fmt: skip


def tag(body, marker: str):
    """Give every item that has a usable vehicle id a unique one, so anything sent would be found."""
    if not isinstance(body, list):
        return body
    return [
        {**item, "vehicleID": marker}
        if isinstance(item, dict)
        and isinstance(item.get("vehicleID"), str)
        and 0 < len(item["vehicleID"].strip()) <= 128
        else item
        for item in body
    ]


@pytest.mark.parametrize(
    ("case", "body", "ctype", "status", "field"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS]
)
def test_bad_requests_get_a_clear_4xx_and_send_nothing(ingest, kafka, case, body, ctype, status, field):
    marker = unique(case)
    body = tag(body, marker)
    raw = body if isinstance(body, bytes) else None
    reply = post(ingest, body, ctype, raw)
    assert reply.status_code == status, reply.text
    error = reply.json()
    assert error["status"] == "error" and error["error"] and error["message"]
    if field is not None:
        assert field in [e["field"] for e in error["errors"]], error
    assert records_of(kafka, {marker}) == []


def test_a_bad_item_means_nothing_of_the_batch_is_sent(ingest, kafka):
    good = unique("good")
    body = [
        {"vehicleID": good, "path": [[1, 2]], "timestamps": [1.7e9]},
        {"vehicleID": good, "path": [[1, 99]], "timestamps": [1.7e9]},
    ]
    assert post(ingest, body).status_code == 400
    assert records_of(kafka, {good}) == []


def test_unknown_route_and_method_are_json(ingest):
    assert requests.get(f"{ingest}/nope", timeout=5).json()["status"] == "error"
    reply = requests.get(f"{ingest}/ingest/location", timeout=5)
    assert reply.status_code == 405 and reply.json()["error"] == "method_not_allowed"
