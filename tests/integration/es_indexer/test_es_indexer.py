"""Datagrams become documents with the right types; geo queries find the buoy; replays do not duplicate;
a document the engine refuses goes to the DLQ with the engine's reason while its neighbours are indexed;
an engine outage of 20 s loses nothing."""

from __future__ import annotations

import time
import uuid

import orjson
import requests
from confluent_kafka import TopicPartition
from pipeline_support import count_documents, indexer_process, reading, wait_for_documents
from support.kafka import read_topic

from es_indexer.indexer import install
from es_indexer.settings import Settings
from es_indexer.targets import SENSOR_MAPPING, SENSORS, sensor_lifecycle, sensor_template
from geostream import contracts
from geostream.kafka import make_consumer, make_producer


def new_sensor() -> str:
    return f"buoy-{uuid.uuid4().hex[:10]}"


def test_datagrams_become_documents_with_the_right_types(pipeline, es):
    sensor = new_sensor()
    pipeline.send(*(reading(sensor, s) for s in range(5)))
    assert wait_for_documents(es, sensor, 5) == 5

    mapping = es.indices.get_mapping(index="sensor-readings")
    (properties,) = (m["mappings"]["properties"] for m in mapping.values())
    assert {name: spec["type"] for name, spec in properties.items()} == {
        "@timestamp": "date",
        "sensor_id": "keyword",
        "temperature": "float",
        "humidity": "float",
        "pressure": "float",
        "location": "geo_point",
    }
    hits = es.search(
        index="sensor-readings", query={"term": {"sensor_id": sensor}}, sort=[{"@timestamp": "asc"}], size=10
    )["hits"]["hits"]
    assert [h["_id"] for h in hits] == [f"{sensor}@{1705831200095931 + s * 1_000_000}" for s in range(5)]
    assert hits[0]["_source"] == {
        "@timestamp": "2024-01-21T10:00:00.095931Z",
        "sensor_id": sensor,
        "temperature": 20.9,
        "humidity": 59.22,
        "pressure": 1001.87,
        "location": {"lat": 42.488629, "lon": 3.185785},
    }
    assert hits[0]["_index"].startswith(".ds-sensor-readings")  # a data stream's backing index


def test_a_geo_distance_query_finds_the_buoy(pipeline, es):
    near, far = new_sensor(), new_sensor()
    pipeline.send(reading(near, 1, lon=3.1300, lat=42.4800), reading(far, 1, lon=5.3698, lat=43.2965))
    assert wait_for_documents(es, near, 1) == 1
    assert wait_for_documents(es, far, 1) == 1
    around_banyuls = {
        "bool": {
            "filter": [
                {"terms": {"sensor_id": [near, far]}},
                {"geo_distance": {"distance": "5km", "location": {"lat": 42.4833, "lon": 3.1289}}},
            ]
        }
    }
    hits = es.search(index="sensor-readings", query=around_banyuls)["hits"]["hits"]
    assert [h["_source"]["sensor_id"] for h in hits] == [near]


def test_replays_do_not_duplicate(pipeline, es, kafka, es_shim, workdir):
    sensor = new_sensor()
    records = [reading(sensor, s) for s in range(10)]
    pipeline.send(*records)
    assert wait_for_documents(es, sensor, 10) == 10
    pipeline.send(*records)  # the same readings again, through udp-ingest
    read_topic(kafka.bootstrap, "sensor_readings", where=lambda r: r.key == sensor, count=20)
    # a second indexer in a new group replays the whole topic from the beginning
    replayer, health = indexer_process(
        workdir, kafka, es_shim, "replayer", INDEXER_GROUP_ID=f"replay-{sensor}"
    )
    replayer.start()
    try:
        replayer.wait_healthy(f"http://127.0.0.1:{health}/health", timeout=120)
        deadline = time.monotonic() + 90
        duplicates = 0.0
        while time.monotonic() < deadline and duplicates < 20:
            text = requests.get(f"http://127.0.0.1:{health}/metrics", timeout=5).text
            duplicates = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith('es_indexer_documents_total{index="sensor-readings",result="duplicate"}')
            )
            time.sleep(0.5)
        assert duplicates >= 20  # at least this sensor's 20 records were answered "already indexed"
    finally:
        replayer.stop()
    assert count_documents(es, sensor) == 10


def test_a_document_the_engine_refuses_goes_to_the_dlq_and_its_neighbours_are_indexed(pipeline, es, kafka):
    """1e39 is a valid JSON number and satisfies the contract, but does not fit a float field: the engine
    rejects that one document (a mapping error)."""
    sensor = new_sensor()
    records = [reading(sensor, 1), reading(sensor, 2, temperature=1e39), reading(sensor, 3)]
    for record in records:
        record["timestamp"] = record["timestamp"].replace(" ", "T") + "Z"
        contracts.check("sensor_readings", record)
    producer = make_producer(kafka.bootstrap, client_id="tests-mapping-reject")
    for record in records:
        producer.produce("sensor_readings", orjson.dumps(record), sensor.encode())
    assert producer.flush(30) == 0

    assert wait_for_documents(es, sensor, 2) == 2
    (dead,) = read_topic(
        kafka.bootstrap,
        "sensor_readings_dlq",
        where=lambda r: sensor in r.value["original"],
        count=1,
        timeout=60,
    )
    contracts.check("sensor_readings_dlq", dead.value)
    assert dead.value["source"] == "es-indexer"
    assert dead.value["reason"].startswith("elasticsearch rejected the document: 400 ")
    assert "temperature" in dead.value["reason"]
    assert orjson.loads(dead.value["original"])["temperature"] == 1e39
    assert dead.value["topic"] == "sensor_readings" and dead.value["key"] == sensor
    hits = es.search(index="sensor-readings", query={"term": {"sensor_id": sensor}})["hits"]["hits"]
    assert sorted(h["_source"]["@timestamp"][17:19] for h in hits) == ["01", "03"]


def test_an_engine_outage_of_20_s_loses_nothing(pipeline, es, opensearch):
    sensor = new_sensor()
    pipeline.send(*(reading(sensor, s) for s in range(10)))
    assert wait_for_documents(es, sensor, 10) == 10
    opensearch.stop()
    try:
        for second in range(10, 30):  # 20 readings while the engine is down, one per second
            pipeline.send(reading(sensor, second))
            time.sleep(1)
        retries = pipeline.indexer_metric("es_indexer_retries")
        assert retries > 0
    finally:
        opensearch.start()
    assert wait_for_documents(es, sensor, 30, timeout=180) == 30


def test_templates_are_installed_idempotently_with_the_contract_mapping(pipeline, es):
    template = es.indices.get_index_template(name="sensor-readings")["index_templates"][0]["index_template"]
    assert template["index_patterns"] == ["sensor-readings*"]
    assert template["template"]["mappings"]["properties"] == SENSOR_MAPPING["properties"]
    assert "data_stream" in template
    # installing again (another replica starting) changes nothing
    install(es, Settings(), [SENSORS])
    again = es.indices.get_index_template(name="sensor-readings")["index_templates"][0]["index_template"]
    assert again["template"]["mappings"] == template["template"]["mappings"]


def test_the_ilm_policy_and_its_attachment_are_well_formed():
    """Static check: OpenSearch has no ILM (tests/SEARCH_ENGINE.md), so the policy is checked as data."""
    settings = Settings(sensor_retention_days=45)
    policy = sensor_lifecycle(settings)["policy"]
    assert policy["phases"]["delete"] == {"min_age": "45d", "actions": {"delete": {}}}
    assert policy["phases"]["hot"]["actions"]["rollover"] == {
        "max_age": "1d",
        "max_primary_shard_size": "10gb",
    }
    with_ilm = sensor_template(settings, with_ilm=True)["template"]["settings"]
    assert with_ilm["index.lifecycle.name"] == "sensor-readings"
    assert "index.lifecycle.name" not in sensor_template(settings, with_ilm=False)["template"]["settings"]


def committed_and_end(kafka, group: str) -> list[tuple[int, int, int]]:
    """(partition, committed offset, end offset) of ``sensor_readings`` for ``group``."""
    consumer = make_consumer(kafka.bootstrap, group_id=group, client_id="tests-offsets")
    try:
        partitions = consumer.list_topics("sensor_readings", timeout=10).topics["sensor_readings"].partitions
        committed = consumer.committed([TopicPartition("sensor_readings", p) for p in partitions], timeout=10)
        return [
            (tp.partition, tp.offset, consumer.get_watermark_offsets(tp, timeout=10)[1]) for tp in committed
        ]
    finally:
        consumer.close()


def test_offsets_are_committed_to_the_end_and_sigterm_exits_cleanly(pipeline, es, kafka, es_shim, workdir):
    sensor = new_sensor()
    group = f"sigterm-{sensor}"
    pipeline.send(*(reading(sensor, s) for s in range(5)))
    read_topic(kafka.bootstrap, "sensor_readings", where=lambda r: r.key == sensor, count=5)
    indexer, health = indexer_process(workdir, kafka, es_shim, "sigterm", INDEXER_GROUP_ID=group)
    indexer.start()
    try:
        indexer.wait_healthy(f"http://127.0.0.1:{health}/health", timeout=120)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            offsets = committed_and_end(kafka, group)
            if all(committed == end or (end == 0 and committed < 0) for _p, committed, end in offsets):
                break
            time.sleep(1)
        assert all(committed == end or (end == 0 and committed < 0) for _p, committed, end in offsets), (
            offsets
        )
    finally:
        assert indexer.stop() == 0, indexer.log()
    assert '"stopped"' in indexer.log()
    assert count_documents(es, sensor) == 5
