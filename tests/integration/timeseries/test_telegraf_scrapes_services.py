"""telegraf/telegraf.conf's ``inputs.prometheus`` on the real Telegraf: it scrapes real services' /metrics
(http-ingest under gunicorn, ws-relay, on real Kafka) into the real InfluxDB as the pipeline-health
dashboard reads them (measurement ``prometheus``, one field per metric, labels and ``url`` as tags), while
every other service of the list is down: an unreachable target must not stop Telegraf nor the others."""

from __future__ import annotations

import sys
import time

import orjson
import pytest
import requests
from support.processes import ROOT, ServiceProcess, gunicorn_http_ingest

from geostream.kafka import make_admin, make_producer
from localservers import free_port
from localservers.telegraf import TelegrafProcess, check_config

CONFIG = ROOT / "telegraf" / "telegraf.conf"

DOWN_SERVICES = (
    "MQTT_BRIDGE", "TRIPS_API", "WEATHER_PRODUCER", "UDP_INGEST", "RIDE_PRODUCER", "RIDES_LAKE",
    "ES_INDEXER", "SEGMENTER",
)  # fmt: skip
RELAY_TOPIC = "websocket_updates_topic"  # ws-relay's default KAFKA_WEBSOCKET_TOPIC
GOOD = [{"vehicleID": "scrape-1", "path": [[2.35, 48.85], [2.36, 48.86]], "timestamps": [1.7e9, 1.7e9 + 1]}]


def kafka_partitions(kafka, topic: str) -> list[int]:
    return sorted(make_admin(kafka.bootstrap).list_topics(topic, timeout=30).topics[topic].partitions)


def wait_rows(influxdb, query: str, count: int, timeout: float = 90.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        series = influxdb.influxql(query, database=influxdb.bucket)["results"][0].get("series", [])
        rows = [
            dict(zip(s["columns"], v, strict=True)) | s.get("tags", {}) for s in series for v in s["values"]
        ]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


@pytest.fixture(scope="module")
def http_ingest(kafka, tmp_path_factory):
    port = free_port()
    service = gunicorn_http_ingest(
        port, kafka.bootstrap, tmp_path_factory.mktemp("http-ingest") / "http-ingest.log"
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        service.wait_healthy(f"{url}/health", timeout=60)
        yield url
    finally:
        assert service.stop() == 0, "gunicorn did not shut down cleanly on SIGTERM"


@pytest.fixture(scope="module")
def ws_relay(kafka, tmp_path_factory):
    port = free_port()
    service = ServiceProcess(
        [sys.executable, "-m", "ws_relay"],
        {"KAFKA_BROKERS": kafka.bootstrap, "WEBSOCKET_HOST": "127.0.0.1", "WEBSOCKET_PORT": str(port)},
        ROOT / "services" / "ws-relay",
        tmp_path_factory.mktemp("ws-relay") / "ws-relay.log",
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        service.wait_healthy(f"{url}/health", timeout=60)
        yield url
    finally:
        service.stop()


def test_service_metrics_reach_influxdb_while_other_targets_are_down(
    kafka, influxdb, http_ingest, ws_relay, tmp_path
):
    accepted = requests.post(f"{http_ingest}/ingest/location", json=GOOD, timeout=30)
    assert accepted.status_code == 202, accepted.text
    refused = requests.post(f"{http_ingest}/ingest/location", data=b"not json", timeout=30)
    assert refused.status_code == 415, refused.text  # no Content-Type: refused, counted by reason
    reason = refused.json()["error"]
    producer = make_producer(kafka.bootstrap, client_id="test-telegraf-scrape")
    for i in range(3):
        point = {"vehicle_id": f"scrape-{i}", "ts": 1_700_000_000_000 + i, "lon": 2.35, "lat": 48.85}
        producer.produce(RELAY_TOPIC, orjson.dumps(point), point["vehicle_id"].encode())
    assert producer.flush(30) == 0

    metrics_url = f"{http_ingest}/metrics"
    # Closed local ports: connection refused at every gather.
    down = {f"METRICS_URL_{name}": f"http://127.0.0.1:{free_port()}/metrics" for name in DOWN_SERVICES}
    env = {
        "KAFKA_BROKERS": kafka.bootstrap,
        **influxdb.env(),
        "TELEGRAF_HEALTH_PORT": str(free_port()),
        "METRICS_URL_HTTP_INGEST": metrics_url,
        "METRICS_URL_WS_RELAY": f"{ws_relay}/metrics?format=prometheus",
        **down,
    }
    check_config(CONFIG, env)
    health = f"http://127.0.0.1:{env['TELEGRAF_HEALTH_PORT']}/"
    with TelegrafProcess(CONFIG, env, tmp_path, health_url=health) as telegraf:
        rows = wait_rows(
            influxdb,
            'SELECT last("http_ingest_points_accepted_total") AS accepted FROM "prometheus" '
            f'WHERE "url" = \'{metrics_url}\' GROUP BY "endpoint"',
            1,
        )
        assert [(r["endpoint"], r["accepted"]) for r in rows] == [("location", 2.0)], telegraf.log()
        rejected = wait_rows(
            influxdb,
            'SELECT last("http_ingest_rejected_total") AS n FROM "prometheus" '
            f'WHERE "url" = \'{metrics_url}\' GROUP BY "reason", "endpoint"',
            1,
        )
        assert [(r["reason"], r["n"]) for r in rejected] == [(reason, 1.0)], telegraf.log()
        # Runtime series of the process are dropped; no point carries a down target's url.
        fields = influxdb.influxql('SHOW FIELD KEYS FROM "prometheus"', database=influxdb.bucket)
        names = {v[0] for v in fields["results"][0]["series"][0]["values"]}
        assert not {n for n in names if n.startswith(("python_", "process_")) or n.endswith("_created")}
        urls = influxdb.influxql(
            'SHOW TAG VALUES FROM "prometheus" WITH KEY = "url"', database=influxdb.bucket
        )
        assert {v[1] for v in urls["results"][0]["series"][0]["values"]} == {
            metrics_url,
            f"{ws_relay}/metrics?format=prometheus",
        }
        # ws-relay read the three points: it is at the end of every partition of its topic.
        lag = wait_rows(
            influxdb,
            'SELECT last("kafka_consumer_lag") AS lag FROM "prometheus" '
            'GROUP BY "consumer", "topic", "partition"',
            1,
        )
        assert len(lag) == len(kafka_partitions(kafka, RELAY_TOPIC)), telegraf.log()
        assert {(r["consumer"], r["topic"], r["lag"]) for r in lag} == {("ws-relay", RELAY_TOPIC, 0)}
        assert telegraf.running(), telegraf.log()
        assert any(f"{down['METRICS_URL_ES_INDEXER']}" in line for line in telegraf.log().splitlines())
