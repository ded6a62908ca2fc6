"""mqtt-bridge against a real Mosquitto and the real broker: the OwnTracks corpus and device JSON published
with paho and with mosquitto_pub, dead letters, and a crash between MQTT delivery and the Kafka ack."""

from __future__ import annotations

import signal
import subprocess
import time

import orjson
import paho.mqtt.client as mqtt
import pytest
import requests
from support.kafka import read_topic
from unit.sources.corpus_check import assert_same_points, expectation, load_jsonl

from geostream import contracts
from localservers import KafkaServer

from .conftest import unique, wait_for_log

SECRET = "mysecreTpass01"
SENTINEL_TOPIC = "devices/sentinel/location"


def paho_publisher(port: int, client_id: str | None = None) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or unique("pub"))
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def publish_paho(port: int, messages: list[tuple[str, bytes, int, bool]]) -> None:
    client = paho_publisher(port)
    try:
        for topic, payload, qos, retain in messages:
            client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


def publish_mosquitto_pub(port: int, messages: list[tuple[str, bytes, int, bool]]) -> None:
    for topic, payload, qos, retain in messages:
        argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", str(qos)]
        argv += ["-r"] if retain else []
        argv += ["-n"] if not payload else ["-s"]  # -s: the payload from stdin, byte for byte
        subprocess.run(argv, input=payload, check=True, timeout=30)


PUBLISHERS = {"paho": publish_paho, "mosquitto_pub": publish_mosquitto_pub}


def sentinel(now_ms: int) -> tuple[str, bytes, int, bool]:
    return SENTINEL_TOPIC, orjson.dumps({"ts": now_ms, "lon": 0.5, "lat": 0.5}), 1, False


def drain(kafka, topic: str, dlq: str, sentinel_count: int = 1):
    """Everything on the bridge's topics once the sentinel (published last) is through."""
    read_topic(kafka.bootstrap, topic, where=lambda r: r.key == "sentinel", count=sentinel_count, timeout=60)
    points = [r.value for r in read_topic(kafka.bootstrap, topic, settle=2.0) if r.key != "sentinel"]
    dead = [r.value for r in read_topic(kafka.bootstrap, dlq, settle=0.5)]
    return points, dead


@pytest.mark.parametrize(
    ("publisher", "filters", "with_key"),
    [
        ("paho", None, False),
        ("mosquitto_pub", None, True),
        ("paho", "owntracks/#,devices/+/location", True),
    ],
    ids=["paho-default-filters", "mosquitto_pub-with-key", "paho-owntracks-hash-with-key"],
)
def test_owntracks_corpus(realclients, kafka, broker, services, topics, publisher, filters, with_key):
    locations, dlq = topics
    env = {"KAFKA_TOPIC": locations, "KAFKA_DLQ_TOPIC": dlq}
    if filters:
        env["MQTT_TOPIC_FILTERS"] = filters
    if with_key:
        env["OWNTRACKS_SECRET"] = SECRET
    bridge, health = services.bridge(kafka.bootstrap, broker.port, **env)
    bridge.wait_healthy(health)

    rows = load_jsonl(realclients / "owntracks_mqtt.jsonl")
    messages = [(r["topic"], r["payload"].encode(), r["qos"], r["retain"]) for r in rows]
    PUBLISHERS[publisher](broker.port, [*messages, sentinel(int(time.time() * 1000))])

    want = [
        point
        for row in rows
        # With the default filters the bridge is not subscribed to .../event, .../info, ...
        if filters or row["topic"].count("/") == 2
        for point in expectation(row, with_key)["points"]
    ]
    points, dead = drain(kafka, locations, dlq)
    assert_same_points(want, points)
    assert {p["source"] for p in points} == {"owntracks"}
    assert dead == [], "ignored OwnTracks messages must not be dead-lettered"


DEVICE_MESSAGES = [
    ("devices/truck-7/location", {"ts": 1_700_000_000_000, "lon": 2.35, "lat": 48.85, "speed": 12.5}),
    (
        "devices/truck-8/location",
        {
            "vehicle_id": "truck-8",
            "ts": 1_700_000_001,
            "lon": -1.5,
            "lat": 47.2,
            "speed": 0.0,
            "heading": 180,
            "alt": 12,
            "accuracy": 5,
            "battery": 77,
            "source": "simulator",
        },
    ),
]
BAD_MESSAGES = [
    ("devices/bad-1/location", b"not json at all", "not JSON"),
    ("devices/bad-2/location", b'{"ts": 1700000000, "lon": 2.0}', "lon and lat are required"),
    ("devices/bad-3/location", b'{"ts": 1700000000, "lon": 2.0, "lat": 100}', "latitude 100"),
    ("owntracks/eve/phone", b'{"_type":"location","lon":2.0,"tst":1700000000}', "without lat"),
    ("owntracks/eve/phone", b'{"_type":"encrypted","data":"AAAA"}', "too short"),
    ("devices/bad-4/location", b'["an", "array"]', "JSON object"),
]


@pytest.mark.parametrize("publisher", ["paho", "mosquitto_pub"])
def test_device_json_and_dead_letters(kafka, broker, services, topics, publisher):
    locations, dlq = topics
    bridge, health = services.bridge(
        kafka.bootstrap, broker.port, KAFKA_TOPIC=locations, KAFKA_DLQ_TOPIC=dlq, OWNTRACKS_SECRET=SECRET
    )
    bridge.wait_healthy(health)
    assert requests.get(health, timeout=5).json()["checks"] == {"mqtt": "up", "kafka": "up"}
    messages = [(t, orjson.dumps(doc), 1, False) for t, doc in DEVICE_MESSAGES]
    messages += [(t, payload, 1, False) for t, payload, _ in BAD_MESSAGES]
    PUBLISHERS[publisher](broker.port, [*messages, sentinel(int(time.time() * 1000))])

    points, dead = drain(kafka, locations, dlq)
    assert sorted(points, key=lambda p: p["vehicle_id"]) == [
        {"vehicle_id": "truck-7", "ts": 1_700_000_000_000, "lon": 2.35, "lat": 48.85, "speed": 12.5,
         "source": "mqtt"},
        {"vehicle_id": "truck-8", "ts": 1_700_000_001_000, "lon": -1.5, "lat": 47.2, "speed": 0.0,
         "heading": 180.0, "alt": 12.0, "accuracy": 5.0, "battery": 77.0, "source": "simulator"},
    ]  # fmt: skip
    for point in points:
        contracts.check("locations_topic", point)
    assert len(dead) == len(BAD_MESSAGES)
    by_original = {d["original"]: d for d in dead}
    for topic, payload, reason in BAD_MESSAGES:
        record = by_original[payload.decode()]
        contracts.check("locations_dlq", record)
        assert reason in record["reason"] and record["source"] == "mqtt-bridge" and record["topic"] == topic
    stats = wait_for_log(bridge, lambda e: e.get("msg") == "stats" and e["acked"] == len(messages) + 1)
    assert (stats["points"], stats["dead_lettered"], stats["pending"]) == (3, len(BAD_MESSAGES), 0)


def test_crash_after_mqtt_delivery_before_kafka_ack_loses_nothing(workdir, broker, services):
    kafka = KafkaServer(workdir / unique("kafka-crash")).start()
    client_id = unique("bridge-crash")
    try:
        bridge, health = services.bridge(kafka.bootstrap, broker.port, MQTT_CLIENT_ID=client_id)
        bridge.wait_healthy(health)
        publish_paho(broker.port, [sentinel(int(time.time() * 1000))])
        read_topic(kafka.bootstrap, "locations_topic", count=1)  # the bridge is subscribed and flowing

        kafka.stop()  # from now on no record can be acknowledged
        vehicles = [f"crash-{i}" for i in range(5)]
        sent = [
            (f"devices/{vehicles[i % 5]}/location", {"ts": 1_700_000_000 + i, "lon": i / 10, "lat": 1.0})
            for i in range(100)
        ]
        publish_paho(broker.port, [(t, orjson.dumps(p), 1, False) for t, p in sent])
        # Every message reached the bridge, none is acknowledged to Mosquitto.
        wait_for_log(
            bridge, lambda e: e.get("msg") == "stats" and e["received"] == 101 and e["pending"] == 100
        )
        assert bridge.process is not None
        bridge.process.send_signal(signal.SIGKILL)
        bridge.process.wait(10)

        kafka.start()  # empty again (memory storage): whatever arrives now came through the restarted bridge
        restarted, health = services.bridge(kafka.bootstrap, broker.port, MQTT_CLIENT_ID=client_id)
        restarted.wait_healthy(health, timeout=60)
        got = read_topic(
            kafka.bootstrap, "locations_topic", where=lambda r: r.key in vehicles, count=100, timeout=60
        )
        assert {(r.key, r.value["ts"]) for r in got} == {
            (vehicles[i % 5], (1_700_000_000 + i) * 1000) for i in range(100)
        }
    finally:
        kafka.stop()


def test_sigterm_drains_and_exits_cleanly(kafka, broker, services, topics):
    locations, dlq = topics
    bridge, health = services.bridge(kafka.bootstrap, broker.port, KAFKA_TOPIC=locations, KAFKA_DLQ_TOPIC=dlq)
    bridge.wait_healthy(health)
    publish_paho(broker.port, [sentinel(int(time.time() * 1000))])
    read_topic(kafka.bootstrap, locations, count=1)
    assert bridge.stop() == 0
    stopped = wait_for_log(bridge, lambda e: e.get("msg") == "stopped")
    assert stopped["unacknowledged"] == 0 and stopped["acked"] == 1
