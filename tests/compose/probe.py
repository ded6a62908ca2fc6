"""Quick check of a running compose stack through its published ports, run by smoke.sh before the e2e tests.

Proves each stand-in answers with its real protocol and that a point POSTed to http-ingest lands on
locations_topic:
  - Kafka (Tansu): metadata through the HOST listener, the broker's advertised address resolvable;
  - MobilityDB: login with the compose credentials, PostGIS and MobilityDB extensions available;
  - Mosquitto: a retained QoS 1 message round trip;
  - http-ingest: POST /ingest/location -> 202, then the point is read back from locations_topic.
Endpoints come from the same environment variables as the e2e tests (see README.md).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
import uuid

import paho.mqtt.client as mqtt
import psycopg2
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

DEADLINE_S = 60.0


def check(name: str, ok: bool, detail: str) -> None:
    print(f"probe: {'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
    if not ok:
        raise SystemExit(1)


def probe_kafka(brokers: str) -> None:
    metadata = AdminClient({"bootstrap.servers": brokers}).list_topics(timeout=20)
    topics = sorted(name for name in metadata.topics if not name.startswith("_"))
    check("kafka", "locations_topic" in topics, f"{len(metadata.brokers)} broker(s), topics {topics}")


def probe_database(url: str) -> None:
    with psycopg2.connect(url, connect_timeout=10) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT name, default_version FROM pg_available_extensions"
            " WHERE name IN ('postgis', 'mobilitydb') ORDER BY name"
        )
        available = dict(cur.fetchall())
    conn.close()
    check("mobilitydb", {"postgis", "mobilitydb"} <= available.keys(), f"extensions available {available}")


def probe_mqtt(host: str, port: int) -> None:
    topic = f"geostream/smoke/{uuid.uuid4().hex}"
    payload = b"probe"
    received: list[bytes] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"smoke-{uuid.uuid4().hex[:8]}")
    client.on_message = lambda _c, _u, message: received.append(message.payload)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(timeout=10)
        client.subscribe(topic, qos=1)
        deadline = time.monotonic() + DEADLINE_S
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(timeout=10)
    finally:
        client.loop_stop()
        client.disconnect()
    check("mosquitto", received[:1] == [payload], f"retained QoS 1 round trip on {topic}")


def probe_ingest(ingest_url: str, brokers: str) -> None:
    vehicle = f"smoke-{uuid.uuid4().hex[:12]}"
    now_s = int(time.time())
    path = [[4.3517, 50.8503], [4.3527, 50.8513]]
    body = json.dumps([{"vehicleID": vehicle, "path": path, "timestamps": [now_s, now_s + 1]}]).encode()
    request = urllib.request.Request(
        f"{ingest_url}/ingest/location", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        status, answer = response.status, json.loads(response.read())
    check("http-ingest", status == 202 and answer.get("sent") == 2, f"POST -> {status} {answer}")

    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"smoke-probe-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics("locations_topic", timeout=20).topics["locations_topic"].partitions
        # Read every partition from the beginning: no consumer-group join, no LATEST lookup (broker quirks).
        consumer.assign([TopicPartition("locations_topic", p, 0) for p in partitions])
        found: list[dict] = []
        deadline = time.monotonic() + DEADLINE_S
        while len(found) < 2 and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            if message.key() == vehicle.encode():
                found.append(json.loads(message.value()))
    finally:
        consumer.close()
    check(
        "http-ingest -> locations_topic",
        len(found) == 2 and all(point["vehicle_id"] == vehicle for point in found),
        f"{len(found)} point(s) for {vehicle}: {found}",
    )


def main() -> int:
    brokers = os.environ.get("KAFKA_BROKERS", "localhost:9092")
    probe_kafka(brokers)
    probe_database(os.environ["DATABASE_URL"])
    mqtt_port = int(os.environ.get("MQTT_BROKER_PORT", "1883"))
    probe_mqtt(os.environ.get("MQTT_BROKER_HOST", "localhost"), mqtt_port)
    probe_ingest(os.environ.get("INGEST_URL", "http://localhost:5000"), brokers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
