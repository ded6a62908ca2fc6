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
    measurement "weather" (when INFLUXDB_URL is set);
  - Elasticsearch stand-in (when ELASTICSEARCH_URL is set): a request without credentials -> 401, the
    official client with the elastic user's -> cluster health; then the buoy leg: buoy-simulator ->
    udp-ingest -> sensor_readings -> es-indexer -> search engine, a reading of the simulator's sensors
    searchable in sensor-readings* (geo_distance around the simulator's home position).
Endpoints come from the same environment variables as the e2e tests (see README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
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
from elasticsearch import Elasticsearch

DEADLINE_S = 60.0
BUOYS_DEADLINE_S = 180.0
# buoy-simulator's default home position (services/buoy-simulator: near Banyuls-sur-Mer).
BUOY_HOME = {"lat": 42.48, "lon": 3.145}


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


def probe_search_engine(url: str, username: str, password: str) -> Elasticsearch:
    """The stand-in requires Elasticsearch's credentials and answers the official 8.x client."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=20) as response:
            anonymous = response.status
    except urllib.error.HTTPError as exc:
        anonymous = exc.code
    check("elasticsearch refuses a request without credentials", anonymous == 401, f"GET -> {anonymous}")
    es = Elasticsearch(url, basic_auth=(username, password), request_timeout=30)
    health = es.cluster.health()
    check(
        "elasticsearch (stand-in: OpenSearch + test-only shim)",
        health["status"] in ("yellow", "green"),
        f"official client as {username}: cluster {health['cluster_name']} {health['status']}",
    )
    return es


def simulator_hostnames(project: str) -> list[str]:
    """Host names of the buoy-simulator containers: the prefix of their sensor ids."""
    labels = ["--filter", f"label=com.docker.compose.project={project}"]
    ids = subprocess.run(
        ["docker", "ps", "-q", *labels, "--filter", "label=com.docker.compose.service=buoy-simulator"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    if not ids:
        return []
    inspected = subprocess.run(
        ["docker", "inspect", "-f", "{{.Config.Hostname}}", *ids], capture_output=True, text=True, check=True
    )
    return inspected.stdout.split()


def topic_record_count(brokers: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"smoke-probe-{uuid.uuid4().hex[:8]}"})
    try:
        partitions = consumer.list_topics(topic, timeout=20).topics[topic].partitions
        return sum(
            high - low
            for low, high in (
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=20) for p in partitions
            )
        )
    finally:
        consumer.close()


def probe_buoys(es: Elasticsearch, brokers: str, project: str) -> None:
    """buoy-simulator -> udp-ingest -> sensor_readings -> es-indexer -> the search engine."""
    hostnames = simulator_hostnames(project)
    check("buoy-simulator containers", bool(hostnames), f"sensor id prefixes {hostnames}")
    query = {
        "bool": {
            "filter": [
                {
                    "bool": {
                        "should": [{"prefix": {"sensor_id": h}} for h in hostnames],
                        "minimum_should_match": 1,
                    }
                },
                {"geo_distance": {"distance": "50km", "location": BUOY_HOME}},
            ]
        }
    }
    hits: list[dict] = []
    deadline = time.monotonic() + BUOYS_DEADLINE_S
    while not hits and time.monotonic() < deadline:
        answer = es.search(index="sensor-readings*", query=query, size=1, sort=[{"@timestamp": "desc"}])
        hits = answer["hits"]["hits"]
        time.sleep(0 if hits else 2)
    if hits:
        reading = hits[0]["_source"]
        check(
            "buoy-simulator -> udp-ingest -> Kafka -> es-indexer -> elasticsearch",
            isinstance(reading.get("temperature"), float) and "@timestamp" in reading,
            f"latest reading in {hits[0]['_index']}: {reading}",
        )
        return
    in_kafka = topic_record_count(brokers, "sensor_readings")
    indexed = es.count(index="sensor-readings*")["count"]
    if in_kafka == 0:
        where = "before Kafka: see the logs of buoy-simulator and udp-ingest (its /metrics counts rejects)"
    elif indexed == 0:
        where = "after Kafka: see the logs of es-indexer (its /metrics counts rejected documents)"
    else:
        where = "documents are indexed, but none from these sensors within 50 km of the buoys' home"
    check(
        "buoy-simulator -> udp-ingest -> Kafka -> es-indexer -> elasticsearch",
        False,
        f"no reading of sensors {hostnames}-* searchable in sensor-readings* after {BUOYS_DEADLINE_S:.0f} s;"
        f" sensor_readings holds {in_kafka} record(s), sensor-readings* {indexed} document(s): the leg breaks"
        f" {where}",
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
    if os.environ.get("ELASTICSEARCH_URL"):
        es = probe_search_engine(
            os.environ["ELASTICSEARCH_URL"],
            os.environ.get("ELASTICSEARCH_USERNAME", "elastic"),
            os.environ["ELASTICSEARCH_PASSWORD"],
        )
        probe_buoys(es, brokers, os.environ.get("COMPOSE_PROJECT_NAME", "geostream-smoke"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
