"""Quick check of a running compose stack through its published ports, run by smoke.sh before the e2e tests.

Proves each stand-in answers with its real protocol and that a point POSTed to http-ingest lands on
locations_topic:
  - Kafka: metadata through the HOST listener (the address the broker advertises to the host);
  - MobilityDB: login with the compose credentials, PostGIS and MobilityDB extensions available;
  - Mosquitto: anonymous clients refused; the admin account's QoS 1 device point reaches locations_topic
    through mqtt-bridge;
  - http-ingest: POST /ingest/location without a token -> 401, with it -> 202, then the points are read
    back from locations_topic;
  - weather: weather-producer -> weather_data_v2 -> Telegraf -> InfluxDB, an observation queryable in
    measurement "weather" (when INFLUXDB_URL is set).
Endpoints come from the same environment variables as the e2e tests (see README.md).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
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


def mqtt_connect(host: str, port: int, username: str | None, password: str | None) -> mqtt.ReasonCode:
    """Connect; the broker's CONNACK reason (Success, or why it refused)."""
    answer: list[mqtt.ReasonCode] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"smoke-{uuid.uuid4().hex[:8]}")
    if username:
        client.username_pw_set(username, password)
    client.on_connect = lambda _c, _u, _f, reason, _p: answer.append(reason)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    deadline = time.monotonic() + 20
    while not answer and time.monotonic() < deadline:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    return answer[0] if answer else mqtt.ReasonCode(mqtt.PacketTypes.CONNACK, "Unspecified error")


def probe_mqtt(host: str, port: int, brokers: str) -> None:
    anonymous = mqtt_connect(host, port, None, None)
    check("mosquitto refuses anonymous clients", anonymous.is_failure, f"CONNACK {anonymous}")
    vehicle = f"smoke-mqtt-{uuid.uuid4().hex[:8]}"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"smoke-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(os.environ["MQTT_USERNAME"], os.environ["MQTT_PASSWORD"])
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        point = {"lat": 50.85, "lon": 4.35, "ts": int(time.time() * 1000), "speed": 3.5}
        info = client.publish(f"devices/{vehicle}/location", json.dumps(point), qos=1)
        info.wait_for_publish(timeout=20)
    finally:
        client.loop_stop()
        client.disconnect()
    check("mosquitto", info.is_published(), f"admin account's QoS 1 publish acknowledged for {vehicle}")
    found = read_points(brokers, vehicle, 1)
    check("mosquitto -> mqtt-bridge -> locations_topic", len(found) == 1, f"{found}")


def probe_ingest(ingest_url: str, brokers: str) -> None:
    vehicle = f"smoke-{uuid.uuid4().hex[:12]}"
    now_s = int(time.time())
    path = [[4.3517, 50.8503], [4.3527, 50.8513]]
    body = json.dumps([{"vehicleID": vehicle, "path": path, "timestamps": [now_s, now_s + 1]}]).encode()
    headers = {"Content-Type": "application/json"}
    anonymous = urllib.request.Request(f"{ingest_url}/ingest/location", data=body, headers=headers)
    try:
        urllib.request.urlopen(anonymous, timeout=20)
        refused = None
    except urllib.error.HTTPError as exc:
        refused = exc.code
    check("http-ingest refuses a request without a token", refused == 401, f"POST -> {refused}")
    token = {"Authorization": f"Bearer {os.environ['INGEST_TOKEN']}"}
    request = urllib.request.Request(f"{ingest_url}/ingest/location", data=body, headers=headers | token)
    with urllib.request.urlopen(request, timeout=20) as response:
        status, answer = response.status, json.loads(response.read())
    check("http-ingest", status == 202 and answer.get("sent") == 2, f"POST -> {status} {answer}")
    found = read_points(brokers, vehicle, 2)
    check(
        "http-ingest -> locations_topic",
        len(found) == 2 and all(point["vehicle_id"] == vehicle for point in found),
        f"{len(found)} point(s) for {vehicle}: {found}",
    )


def read_points(brokers: str, vehicle: str, count: int) -> list[dict]:
    """``vehicle``'s points on locations_topic, every partition read from its beginning."""
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"smoke-probe-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics("locations_topic", timeout=20).topics["locations_topic"].partitions
        # Every partition from its beginning, assigned directly: no consumer-group join to wait for.
        consumer.assign([TopicPartition("locations_topic", p, 0) for p in partitions])
        found: list[dict] = []
        deadline = time.monotonic() + DEADLINE_S
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            if message.key() == vehicle.encode():
                found.append(json.loads(message.value()))
    finally:
        consumer.close()
    return found


def probe_weather(influxdb_url: str, token: str) -> None:
    """An observation went weather-producer -> Kafka -> Telegraf -> InfluxDB (InfluxQL, the bucket's DBRP)."""
    query = urllib.parse.urlencode({"db": "speed_bucket", "q": 'SELECT count("temperature") FROM "weather"'})
    request = urllib.request.Request(
        f"{influxdb_url}/query?{query}", headers={"Authorization": f"Token {token}"}
    )
    count, deadline = 0, time.monotonic() + 120
    while count == 0 and time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=20) as response:
            series = json.loads(response.read())["results"][0].get("series", [])
        count = series[0]["values"][0][1] if series else 0
        time.sleep(0 if count else 2)
    check(
        "weather-producer -> Telegraf -> InfluxDB",
        count > 0,
        f"{count} observation(s) in measurement weather",
    )


def main() -> int:
    brokers = os.environ.get("KAFKA_BROKERS", "localhost:9092")
    probe_kafka(brokers)
    probe_database(os.environ["DATABASE_URL"])
    mqtt_port = int(os.environ.get("MQTT_BROKER_PORT", "1883"))
    probe_ingest(os.environ.get("INGEST_URL", "http://localhost:5000"), brokers)
    probe_mqtt(os.environ.get("MQTT_BROKER_HOST", "localhost"), mqtt_port, brokers)
    if os.environ.get("INFLUXDB_URL"):
        probe_weather(os.environ["INFLUXDB_URL"], os.environ["INFLUXDB_TOKEN"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
