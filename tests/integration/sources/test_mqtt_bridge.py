"""mqtt-bridge against a real Mosquitto and the real broker: the OwnTracks corpus and device JSON published
with paho and with mosquitto_pub, dead letters, and a crash between MQTT delivery and the Kafka ack."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
import requests
from confluent_kafka import KafkaError, KafkaException, Producer
from support.kafka import read_topic
from unit.sources.corpus_check import assert_same_points, expectation, load_jsonl

from geostream import contracts
from geostream.kafka import PRODUCER_DEFAULTS, make_producer
from localservers import KafkaServer, MosquittoServer

from .conftest import unique, wait_for_log

SECRET = "mysecreTpass01"
SENTINEL_TOPIC = "devices/sentinel/location"


def paho_publisher(
    broker: MosquittoServer, client_id: str | None = None, account: str = "admin"
) -> mqtt.Client:
    creds = broker.credentials(account)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or unique("pub"))
    client.username_pw_set(creds["MQTT_USERNAME"], creds["MQTT_PASSWORD"])
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def publish_paho(broker: MosquittoServer, messages: list[tuple[str, bytes, int, bool]]) -> None:
    client = paho_publisher(broker)
    try:
        for topic, payload, qos, retain in messages:
            client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


def publish_mosquitto_pub(broker: MosquittoServer, messages: list[tuple[str, bytes, int, bool]]) -> None:
    for topic, payload, qos, retain in messages:
        argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-q", str(qos)]
        argv += ["-u", broker.username, "-P", broker.password]
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
    bridge, health = services.bridge(kafka.bootstrap, broker, **env)
    bridge.wait_healthy(health)

    rows = load_jsonl(realclients / "owntracks_mqtt.jsonl")
    messages = [(r["topic"], r["payload"].encode(), r["qos"], r["retain"]) for r in rows]
    PUBLISHERS[publisher](broker, [*messages, sentinel(int(time.time() * 1000))])

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
        kafka.bootstrap, broker, KAFKA_TOPIC=locations, KAFKA_DLQ_TOPIC=dlq, OWNTRACKS_SECRET=SECRET
    )
    bridge.wait_healthy(health)
    assert requests.get(health, timeout=5).json()["checks"] == {
        "mqtt": "up", "kafka": "up", "threads": "up", "delivery": "up"
    }  # fmt: skip
    messages = [(t, orjson.dumps(doc), 1, False) for t, doc in DEVICE_MESSAGES]
    messages += [(t, payload, 1, False) for t, payload, _ in BAD_MESSAGES]
    PUBLISHERS[publisher](broker, [*messages, sentinel(int(time.time() * 1000))])

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
        bridge, health = services.bridge(kafka.bootstrap, broker, MQTT_CLIENT_ID=client_id)
        bridge.wait_healthy(health)
        publish_paho(broker, [sentinel(int(time.time() * 1000))])
        read_topic(kafka.bootstrap, "locations_topic", count=1)  # the bridge is subscribed and flowing

        kafka.stop()  # from now on no record can be acknowledged
        vehicles = [f"crash-{i}" for i in range(5)]
        sent = [
            (f"devices/{vehicles[i % 5]}/location", {"ts": 1_700_000_000 + i, "lon": i / 10, "lat": 1.0})
            for i in range(100)
        ]
        publish_paho(broker, [(t, orjson.dumps(p), 1, False) for t, p in sent])
        # Every message reached the bridge, none is acknowledged to Mosquitto.
        wait_for_log(
            bridge, lambda e: e.get("msg") == "stats" and e["received"] == 101 and e["pending"] == 100
        )
        assert bridge.process is not None
        bridge.process.send_signal(signal.SIGKILL)
        bridge.process.wait(10)

        kafka.start()  # its data is back, but no record of these vehicles had been acknowledged
        restarted, health = services.bridge(kafka.bootstrap, broker, MQTT_CLIENT_ID=client_id)
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
    bridge, health = services.bridge(kafka.bootstrap, broker, KAFKA_TOPIC=locations, KAFKA_DLQ_TOPIC=dlq)
    bridge.wait_healthy(health)
    publish_paho(broker, [sentinel(int(time.time() * 1000))])
    read_topic(kafka.bootstrap, locations, count=1)
    assert bridge.stop() == 0
    stopped = wait_for_log(bridge, lambda e: e.get("msg") == "stopped")
    assert stopped["unacknowledged"] == 0 and stopped["acked"] == 1


# Payloads that once escaped on_message (paho's thread died, nothing was acknowledged any more, and the
# redelivered publish killed the next bridge too), and their relatives. Each must become one dead letter.
POISON = [
    ("devices/poison-1/location", {"lat": 1.0, "lon": 2.0, "ts": 1_700_000_000, "source": []}),
    ("devices/poison-2/location", {"lat": 1.0, "lon": 2.0, "ts": 1_700_000_000, "source": {"a": 1}}),
    ("owntracks/eve/poison", {"_type": "location", "lat": 1.0, "lon": 2.0, "tst": 1e308}),
    ("owntracks/eve/poison", {"_type": "location", "lat": 1.0, "lon": 2.0, "tst": -1e308}),
    ("devices/poison-3/location", {"lat": 1.0, "lon": 2.0, "ts": 1e308}),
    ("devices/poison-4/location", {"lat": [1], "lon": {"x": 2}, "ts": 1_700_000_000}),
    ("devices/poison-5/location", {"vehicle_id": ["a"], "lat": 1.0, "lon": 2.0}),
    ("devices/poison-6/location", {"lat": 1.0, "lon": 2.0, "speed": "fast", "heading": [], "battery": {}}),
    ("devices/poison-7/location", {"vehicle_id": "bad\u0000id", "lat": 1.0, "lon": 2.0}),
]


def metric_value(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_poison_payloads_are_dead_lettered_acknowledged_and_the_bridge_lives_on(
    kafka, broker, services, topics
):
    locations, dlq = topics
    bridge, health = services.bridge(
        kafka.bootstrap, broker, KAFKA_TOPIC=locations, KAFKA_DLQ_TOPIC=dlq, MQTT_MAX_PAYLOAD_BYTES="2048"
    )
    bridge.wait_healthy(health)
    now_ms = int(time.time() * 1000)
    good = ("devices/after-poison/location", orjson.dumps({"ts": now_ms, "lon": 3.0, "lat": 4.0}), 1, False)
    too_large = (
        "devices/poison-big/location",
        orjson.dumps({"lat": 1, "lon": 2, "pad": "x" * 4000}),
        1,
        False,
    )
    poison = [(t, orjson.dumps(doc), 1, False) for t, doc in POISON]
    publish_paho(broker, [*poison, too_large, good, sentinel(now_ms)])

    points, dead = drain(kafka, locations, dlq)
    assert [(p["vehicle_id"], p["lon"]) for p in points] == [("after-poison", 3.0)]
    assert len(dead) == len(POISON) + 1
    for record in dead:
        contracts.check("locations_dlq", record)
        assert record["source"] == "mqtt-bridge" and record["reason"]
    assert {d["topic"] for d in dead} == {t for t, _ in POISON} | {too_large[0]}
    assert any("exceeds 2048" in d["reason"] for d in dead)
    # Every publish was acknowledged (none left for a redelivery loop), and the bridge is healthy.
    stats = wait_for_log(bridge, lambda e: e.get("msg") == "stats" and e["acked"] == len(poison) + 3)
    assert stats["pending"] == 0 and stats["dead_lettered"] == len(POISON) + 1
    reply = requests.get(health, timeout=5)
    assert reply.status_code == 200 and reply.json()["checks"]["threads"] == "up"
    metrics = requests.get(health.replace("/health", "/metrics"), timeout=5).text
    assert metric_value(metrics, "mqtt_bridge_messages_rejected_total") == len(POISON) + 1
    assert 'mqtt_bridge_messages_rejected_total{reason="too_large"} 1.0' in metrics
    assert metric_value(metrics, "mqtt_bridge_dead_lettered_total") == len(POISON) + 1
    assert metric_value(metrics, "mqtt_bridge_points_accepted_total") == 2
    assert metric_value(metrics, "mqtt_bridge_in_flight") == 0
    assert bridge.process is not None and bridge.process.poll() is None


def in_process_bridge(
    kafka_bootstrap: str,
    broker: MosquittoServer,
    producer_factory: Callable[[], Producer] | None = None,
    **overrides: object,
):
    from geostream.health import HealthServer
    from mqtt_bridge.bridge import Bridge
    from mqtt_bridge.settings import Settings
    from mqtt_bridge.status import make_registry

    settings = Settings(
        kafka_brokers=kafka_bootstrap,
        mqtt_broker_host="127.0.0.1",
        mqtt_broker_port=broker.port,
        mqtt_client_id=unique("bridge-inproc"),
        mqtt_username=broker.bridge_username,
        mqtt_password=broker.bridge_password,
        **overrides,
    )
    bridge = Bridge(settings, producer_factory)
    status = HealthServer("127.0.0.1", 0, bridge.health_checks(), make_registry(bridge)).start()
    return bridge.start(), status, f"http://127.0.0.1:{status.port}/health"


def wait_status(url: str, status: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        reply = requests.get(url, timeout=5)
        if reply.status_code == status or time.monotonic() > deadline:
            assert reply.status_code == status, reply.text
            return reply.json()
        time.sleep(0.2)


@pytest.mark.parametrize("thread", ["mqtt-network", "kafka-poller"])
def test_health_is_503_when_a_worker_thread_is_dead(kafka, broker, topics, thread):
    locations, dlq = topics
    bridge, status, url = in_process_bridge(
        kafka.bootstrap, broker, kafka_topic=locations, kafka_dlq_topic=dlq
    )
    try:
        wait_status(url, 200)
        if thread == "mqtt-network":
            bridge.client.loop_stop()  # paho's network thread ends; the connection is not closed
        else:
            bridge._stop.set()  # the poller's loop ends
            bridge._poller.join(10)
        body = wait_status(url, 503)
        assert body["checks"]["threads"] == "down"
    finally:
        status.stop()
        bridge.stop()


class FencedAfter(Producer):
    """A real producer that turns unusable after ``healthy`` records, as one fenced by the broker does:
    every later ``produce`` raises a fatal error (librdkafka offers no way to provoke one on demand)."""

    def __init__(self, config: dict, healthy: int):
        super().__init__(config)
        self.healthy = healthy

    def produce(self, *args, **kwargs):
        if self.healthy <= 0:
            raise KafkaException(KafkaError(KafkaError._FENCED, "producer fenced (injected)", fatal=True))
        self.healthy -= 1
        return super().produce(*args, **kwargs)


def test_a_fatal_producer_is_replaced_and_nothing_is_lost(kafka, broker, topics):
    locations, dlq = topics
    made: list[Producer] = []

    def factory() -> Producer:
        config = {"bootstrap.servers": kafka.bootstrap, **PRODUCER_DEFAULTS, "message.timeout.ms": 0}
        made.append(
            FencedAfter(config, healthy=5) if not made else make_producer(kafka.bootstrap, client_id="t")
        )
        return made[-1]

    bridge, status, url = in_process_bridge(
        kafka.bootstrap, broker, producer_factory=factory, kafka_topic=locations, kafka_dlq_topic=dlq
    )
    try:
        wait_status(url, 200)
        vehicles = [f"fatal-{i}" for i in range(4)]
        sent = [(f"devices/{vehicles[i % 4]}/location", {"ts": 1_700_000_000 + i, "lon": i / 10, "lat": 1.0})
                for i in range(40)]  # fmt: skip
        publish_paho(broker, [(t, orjson.dumps(p), 1, False) for t, p in sent])
        deadline = time.monotonic() + 60  # every PUBACK is sent once Kafka has the record
        while bridge.stats.acked < 40 and time.monotonic() < deadline:
            time.sleep(0.1)
        read_topic(kafka.bootstrap, locations, count=40, timeout=60)
        # At least once: a record the old producer delivered just before it was purged is produced again.
        got = read_topic(kafka.bootstrap, locations, settle=2.0)
        assert {(r.key, r.value["ts"]) for r in got} == {
            (vehicles[i % 4], (1_700_000_000 + i) * 1000) for i in range(40)
        }
        assert (bridge.stats.acked, bridge.pending(), bridge.stats.producer_replacements) == (40, 0, 1)
        assert len(made) == 2 and bridge.producer is made[1]
        assert wait_status(url, 200)["checks"]["threads"] == "up"
    finally:
        status.stop()
        bridge.stop()


def test_mosquitto_refuses_anonymous_and_foreign_topics(kafka, topics, services):
    """Compose's auth: no anonymous client; a device account writes only its own topics; the bridge
    account only reads."""
    base = Path(tempfile.mkdtemp(prefix="geostream-mosquitto-"))
    base.chmod(0o755)  # mosquitto drops to its own user: it must reach its directory
    broker = MosquittoServer(
        base / "mosquitto", device_users={"truck-7": "seven-pass", "alice": "alice-pass"}
    ).start()
    try:
        locations, dlq = topics
        bridge, health = services.bridge(kafka.bootstrap, broker, KAFKA_TOPIC=locations, KAFKA_DLQ_TOPIC=dlq)
        bridge.wait_healthy(health)

        anonymous = subprocess.run(
            ["mosquitto_pub", "-p", str(broker.port), "-q", "1", "-t", "devices/anon/location", "-m", "{}"],
            check=False, timeout=30, capture_output=True, text=True,
        )  # fmt: skip
        assert anonymous.returncode != 0 and "not authori" in anonymous.stderr

        def publish_as(account: str, topic: str, doc: dict) -> None:
            creds = broker.credentials(account)
            argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", topic]
            argv += ["-u", creds["MQTT_USERNAME"], "-P", creds["MQTT_PASSWORD"], "-m", orjson.dumps(doc)]
            subprocess.run(argv, check=False, timeout=30, capture_output=True)

        ts = int(time.time() * 1000)
        publish_as("truck-7", "devices/truck-7/location", {"ts": ts, "lon": 1.0, "lat": 1.0})
        publish_as("truck-7", "devices/truck-8/location", {"ts": ts, "lon": 2.0, "lat": 2.0})
        publish_as(
            "alice", "owntracks/alice/phone", {"_type": "location", "tst": ts // 1000, "lat": 3, "lon": 3}
        )
        publish_as(
            "alice", "owntracks/bob/phone", {"_type": "location", "tst": ts // 1000, "lat": 4, "lon": 4}
        )
        publish_as("bridge", "devices/bridge-writes/location", {"ts": ts, "lon": 5.0, "lat": 5.0})
        publish_paho(broker, [sentinel(ts)])

        points, dead = drain(kafka, locations, dlq)
        assert sorted(p["vehicle_id"] for p in points) == ["alice/phone", "truck-7"]
        assert dead == []
    finally:
        broker.stop()
        shutil.rmtree(base, ignore_errors=True)
