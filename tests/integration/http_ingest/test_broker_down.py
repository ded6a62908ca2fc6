"""Kafka down: 503 with Retry-After, no claim of delivery, no ghost delivery later, recovery after."""

from __future__ import annotations

import time

import requests
from support.kafka import read_topic
from support.processes import gunicorn_http_ingest

from localservers import KafkaServer, free_port

BODY = [{"vehicleID": "down-1", "path": [[1, 2], [1.1, 2.1]], "timestamps": [1.7e9, 1.7e9 + 1]}]


def test_broker_stopped_gives_503_and_nothing_is_delivered_later(workdir):
    broker = KafkaServer(workdir / "kafka-down").start()
    port = free_port()
    service = gunicorn_http_ingest(
        port, broker.bootstrap, workdir / "logs" / "http-ingest-down.log", INGEST_DELIVERY_TIMEOUT_S="3"
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        service.wait_healthy(f"{url}/health")
        broker.stop()
        reply = requests.post(f"{url}/ingest/location", json=BODY, timeout=30)
        assert reply.status_code == 503, reply.text
        assert reply.headers["Retry-After"] == "5"
        body = reply.json()
        assert body["error"] == "kafka_unavailable" and body["delivered"] == 0 and body["failed"] == 2
        assert "sent" not in body
        assert requests.get(f"{url}/health", timeout=10).status_code == 503

        broker.start()  # same port, same data: a record with this key on the topic was delivered late
        service.wait_healthy(f"{url}/health", timeout=60)
        time.sleep(3)
        assert read_topic(broker.bootstrap, "locations_topic", where=lambda r: r.key == "down-1") == []

        reply = requests.post(f"{url}/ingest/location", json=BODY, timeout=30)
        assert reply.status_code == 202 and reply.json()["sent"] == 2
        assert (
            len(read_topic(broker.bootstrap, "locations_topic", where=lambda r: r.key == "down-1", count=2))
            == 2
        )
    finally:
        assert service.stop() == 0, "gunicorn did not shut down cleanly on SIGTERM"
        broker.stop()
