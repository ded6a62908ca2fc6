"""rides_result records produced to the real Kafka become ``rides`` documents (the es-indexer of the
session pipeline consumes both topics, as in compose): the mapping's types, the flattened fields and the
agent timestamp, geo_distance on the origin, replays without duplicates, and a document the engine
refuses dead-lettered to rides_dlq while its neighbours are indexed."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import orjson
import requests
from pipeline_support import indexer_process
from support.kafka import read_topic

from es_indexer.indexer import install
from es_indexer.settings import Settings
from es_indexer.targets import RIDES, RIDES_MAPPING, ride_action
from geostream import contracts
from geostream.kafka import make_producer
from geostream.rides import price_record

TIMES_SQUARE = (40.7580, -73.9855)
JFK = (40.6413, -73.7781)


def ride(origin: tuple[float, float], comfort: str = "medium", ts: str = "2026-12-01T08:15:30.250Z") -> dict:
    """A rides_result record as the pricing job writes it (the same function its test compares with)."""
    raw = {
        "ride_id": str(uuid.uuid4()),
        "ts": "2026-12-01T08:15:30.250Z",
        "origin": {"lat": origin[0], "lon": origin[1]},
        "destination": {"lat": 40.7527, "lon": -73.9772},
        "comfort": comfort,
        "duration_min": 12.5,
        "price_base": 2.5,
        "price_per_km": 1.75,
        "price_per_min": 0.35,
    }
    result = price_record(orjson.dumps(raw)).result
    assert result is not None
    result["ts"] = ts  # keep the test's text (a mapping reject needs a date the job would never write)
    contracts.check("rides_result", result)
    return result


def produce(kafka, *records: dict) -> None:
    producer = make_producer(kafka.bootstrap, client_id="tests-rides-indexing")
    for record in records:
        producer.produce("rides_result", orjson.dumps(record), record["ride_id"].encode())
    assert producer.flush(30) == 0


def count_rides(es, ids: list[str]) -> int:
    es.indices.refresh(index="rides")
    return es.count(index="rides", query={"ids": {"values": ids}})["count"]


def wait_for_rides(es, ids: list[str], expected: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while (found := count_rides(es, ids)) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def test_rides_become_documents_with_the_right_types(pipeline, es, kafka):
    before = datetime.now(UTC)
    records = [ride(TIMES_SQUARE, comfort) for comfort in ("low", "medium", "high")]
    produce(kafka, *records)
    ids = [r["ride_id"] for r in records]
    assert wait_for_rides(es, ids, 3) == 3

    (properties,) = (m["mappings"]["properties"] for m in es.indices.get_mapping(index="rides").values())
    types = {name: spec["type"] for name, spec in properties.items()}
    assert types == {name: spec["type"] for name, spec in RIDES_MAPPING["properties"].items()}
    assert types["ts"] == types["agent_timestamp"] == "date"
    assert types["comfort"] == "keyword"
    assert types["origin"] == types["destination"] == "geo_point"
    for name in ("distance_km", "price_total", "origin_lat", "destination_lon", "duration_min"):
        assert types[name] == "double"

    hit = es.get(index="rides", id=records[0]["ride_id"])
    source = hit["_source"]
    first = records[0]
    assert hit["_index"] == "rides"
    assert {k: source[k] for k in first} == first  # every field of the record, unchanged
    assert (source["origin_lat"], source["origin_lon"]) == TIMES_SQUARE
    assert (source["destination_lat"], source["destination_lon"]) == (40.7527, -73.9772)
    indexed_at = datetime.fromisoformat(source["agent_timestamp"])
    assert before.replace(microsecond=0) <= indexed_at <= datetime.now(UTC)

    # The engine reads ts and the prices as it should: a range on ts and a sum on price_total.
    answer = es.search(
        index="rides",
        size=0,
        query={
            "bool": {
                "filter": [
                    {"ids": {"values": ids}},
                    {"range": {"ts": {"gte": "2026-12-01T08:15:30Z", "lt": "2026-12-01T08:15:31Z"}}},
                ]
            }
        },
        aggs={"revenue": {"sum": {"field": "price_total"}}, "comfort": {"terms": {"field": "comfort"}}},
    )
    assert answer["hits"]["total"]["value"] == 3
    assert answer["aggregations"]["revenue"]["value"] == sum(r["price_total"] for r in records)
    assert {b["key"] for b in answer["aggregations"]["comfort"]["buckets"]} == {"low", "medium", "high"}


def test_a_geo_distance_query_on_the_origin_finds_the_ride(pipeline, es, kafka):
    near, far = ride((40.7575, -73.9850)), ride(JFK)
    produce(kafka, near, far)
    ids = [near["ride_id"], far["ride_id"]]
    assert wait_for_rides(es, ids, 2) == 2
    around_times_square = {
        "bool": {
            "filter": [
                {"ids": {"values": ids}},
                {
                    "geo_distance": {
                        "distance": "1km",
                        "origin": {"lat": TIMES_SQUARE[0], "lon": TIMES_SQUARE[1]},
                    }
                },
            ]
        }
    }
    hits = es.search(index="rides", query=around_times_square)["hits"]["hits"]
    assert [h["_id"] for h in hits] == [near["ride_id"]]
    # Both rides end in midtown: a geo_distance on the destination finds both.
    by_destination = {
        "bool": {
            "filter": [
                {"ids": {"values": ids}},
                {"geo_distance": {"distance": "1km", "destination": {"lat": 40.7527, "lon": -73.9772}}},
            ]
        }
    }
    assert es.count(index="rides", query=by_destination)["count"] == 2


def test_replays_do_not_duplicate(pipeline, es, kafka, es_shim, workdir):
    records = [ride(TIMES_SQUARE) for _ in range(8)]
    produce(kafka, *records)
    ids = [r["ride_id"] for r in records]
    assert wait_for_rides(es, ids, 8) == 8
    first_indexed = es.get(index="rides", id=ids[0])["_source"]["agent_timestamp"]
    produce(kafka, *records)  # the same rides again (an upstream at-least-once redelivery)
    # and a second indexer in a new group replays rides_result from the beginning
    group = f"replay-rides-{uuid.uuid4().hex[:8]}"
    replayer, health = indexer_process(
        workdir, kafka, es_shim, "rides-replayer", INDEXER_TOPICS="rides_result", INDEXER_GROUP_ID=group
    )
    replayer.start()
    try:
        replayer.wait_healthy(f"http://127.0.0.1:{health}/health", timeout=120)
        deadline = time.monotonic() + 90
        duplicates = 0.0
        while time.monotonic() < deadline and duplicates < 16:
            text = requests.get(f"http://127.0.0.1:{health}/metrics", timeout=5).text
            duplicates = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith('es_indexer_documents_total{index="rides",result="duplicate"}')
            )
            time.sleep(0.5)
        assert duplicates >= 16  # at least these 16 records were answered "already indexed"
    finally:
        replayer.stop()
    assert count_rides(es, ids) == 8
    assert es.get(index="rides", id=ids[0])["_source"]["agent_timestamp"] == first_indexed


def test_a_ride_the_engine_refuses_goes_to_rides_dlq_and_its_neighbours_are_indexed(pipeline, es, kafka):
    """2026-02-30 matches the contract's ts pattern but is no date: the engine's mapping rejects it."""
    before, impossible, after = (
        ride(TIMES_SQUARE),
        ride(TIMES_SQUARE, ts="2026-02-30T08:00:00.000Z"),
        ride(TIMES_SQUARE),
    )
    produce(kafka, before, impossible, after)
    assert wait_for_rides(es, [before["ride_id"], after["ride_id"]], 2) == 2
    (dead,) = read_topic(
        kafka.bootstrap,
        "rides_dlq",
        where=lambda r: impossible["ride_id"] in r.value["original"],
        count=1,
        timeout=60,
    )
    contracts.check("rides_dlq", dead.value)
    assert dead.value["source"] == "es-indexer"
    assert dead.value["reason"].startswith("elasticsearch rejected the document: 400 ")
    assert "[ts]" in dead.value["reason"]
    assert orjson.loads(dead.value["original"]) == impossible
    assert dead.value["topic"] == "rides_result" and dead.value["key"] == impossible["ride_id"]
    assert count_rides(es, [impossible["ride_id"]]) == 0


def test_a_record_breaking_the_contract_goes_to_rides_dlq_before_the_engine(pipeline, es, kafka):
    broken = ride(TIMES_SQUARE)
    del broken["price_total"]
    producer = make_producer(kafka.bootstrap, client_id="tests-rides-contract")
    producer.produce("rides_result", orjson.dumps(broken), broken["ride_id"].encode())
    assert producer.flush(30) == 0
    (dead,) = read_topic(
        kafka.bootstrap,
        "rides_dlq",
        where=lambda r: broken["ride_id"] in r.value["original"],
        count=1,
        timeout=60,
    )
    assert dead.value["reason"].startswith("contract: ")
    assert "price_total" in dead.value["reason"]
    assert count_rides(es, [broken["ride_id"]]) == 0


def test_the_rides_template_is_installed_idempotently(pipeline, es):
    template = es.indices.get_index_template(name="rides")["index_templates"][0]["index_template"]
    assert template["index_patterns"] == ["rides"]  # not rides*: rides-revenue has its own template
    assert "data_stream" not in template
    assert template["template"]["mappings"]["properties"] == RIDES_MAPPING["properties"]
    install(es, Settings(), [RIDES])  # another replica starting: nothing changes, nothing fails
    again = es.indices.get_index_template(name="rides")["index_templates"][0]["index_template"]
    assert again["template"]["mappings"] == template["template"]["mappings"]


def test_ride_action_flattens_and_stamps():
    record = ride(TIMES_SQUARE)
    action = ride_action(record, now=datetime(2026, 12, 1, 9, 0, 1, 234567, tzinfo=UTC))
    assert action["_op_type"] == "create" and action["_index"] == "rides"
    assert action["_id"] == record["ride_id"]
    assert action["_source"]["agent_timestamp"] == "2026-12-01T09:00:01.234Z"
    assert action["_source"]["origin"] == {"lat": 40.758, "lon": -73.9855}
    assert set(action["_source"]) == set(RIDES_MAPPING["properties"])
