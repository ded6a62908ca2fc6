"""The bridge: MQTT publishes in, Kafka records out, and the MQTT acknowledgement only after Kafka's.

paho-mqtt runs with ``manual_ack=True``: ``on_message`` (paho's network thread) maps the publish and
hands the record to the Kafka producer; a poller thread serves the producer's delivery reports and sends
the PUBACKs, in the order the publishes arrived (MQTT 3.1.1 section 4.6, MQTT 5 section 4.6). A crash
anywhere before the PUBACK leaves the message in the broker's persistent session, which redelivers it
to the next bridge with the same client id: at least once, never lost. Duplicates are harmless
downstream (points are keyed by vehicle and time).

Memory is bounded by the MQTT 5 Receive Maximum: the broker sends no more than that many unacknowledged
messages, so at most that many are held here while Kafka is slow or down (librdkafka retries without a
deadline, ``message.timeout.ms=0``).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from confluent_kafka import KafkaError, Message, Producer
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from geostream import contracts
from geostream.kafka import broker_reachable, dlq_record, make_producer
from geostream.sources import RejectError
from mqtt_bridge.buffered import BufferedClient
from mqtt_bridge.routing import map_publish, parse_filters
from mqtt_bridge.settings import Settings

log = logging.getLogger("mqtt-bridge")

SERVICE = "mqtt-bridge"
RETRY_DELAY_S = 1.0
"""Pause before producing a record again that Kafka refused."""
RETAIN_SEND_ON_NEW_SUBSCRIPTION = 1
"""MQTT 5 Retain Handling 1: retained messages only when the subscription is new, not on every reconnect."""


class Pending:
    """One received publish, until every record made from it is in Kafka."""

    __slots__ = ("bridge", "failed", "failed_at", "generation", "mid", "qos", "remaining")

    def __init__(self, bridge: Bridge, mid: int, qos: int, generation: int):
        self.bridge = bridge
        self.mid = mid
        self.qos = qos
        self.generation = generation
        self.remaining = 0
        self.failed: list[tuple[str, bytes | None, bytes]] = []
        self.failed_at = 0.0

    def delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.remaining -= 1
        else:
            self.bridge.stats.kafka_errors += 1
            self.failed.append((msg.topic(), msg.key(), msg.value()))
            self.failed_at = time.monotonic()
            log.warning("kafka refused a record; it will be produced again", extra={"error": err.str()})


@dataclass
class Stats:
    received: int = 0
    points: int = 0
    ignored: int = 0
    dead_lettered: int = 0
    acked: int = 0
    kafka_errors: int = 0
    disconnects: int = 0


class Bridge:
    def __init__(self, settings: Settings, producer: Producer | None = None):
        self.settings = settings
        self.filters = parse_filters(settings.mqtt_topic_filters)
        self.secret = settings.owntracks_secret.get_secret_value() if settings.owntracks_secret else None
        if self.secret:
            import nacl.secret  # noqa: F401  (fail at start-up, not on the first encrypted message)
        self.max_future_ms = settings.ingest_max_future_s * 1000
        self.producer = producer or make_producer(
            settings.kafka_brokers, client_id=SERVICE, **{"message.timeout.ms": 0}
        )
        self.stats = Stats()
        self._last_stats: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pending: collections.deque[Pending] = collections.deque()
        self._generation = 0
        self._connected = threading.Event()
        self._draining = False
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="kafka-poller", daemon=True)
        self.client = self._make_client()

    # --- MQTT side -----------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = BufferedClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=s.mqtt_client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if s.mqtt_username:
            client.username_pw_set(s.mqtt_username, s.mqtt_password.get_secret_value() or None)
        client.reconnect_delay_set(s.mqtt_reconnect_min_s, s.mqtt_reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.mqtt_session_expiry_s
        props.ReceiveMaximum = self.settings.mqtt_receive_maximum
        return props

    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.error("mqtt connection refused", extra={"reason": str(reason)})
            return
        group = self.settings.mqtt_shared_group
        topics = [
            (f"$share/{group}/{f.text}" if group else f.text,
             SubscribeOptions(qos=1, retainHandling=RETAIN_SEND_ON_NEW_SUBSCRIPTION))
            for f in self.filters
        ]  # fmt: skip
        client.subscribe(topics)
        self._connected.set()
        log.info(
            "mqtt connected",
            extra={"session_present": flags.session_present, "filters": [t for t, _ in topics]},
        )

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _p: Any) -> None:
        with self._lock:
            # Message ids are per connection: what was received on the old one is redelivered by the
            # broker and must not be acknowledged on the new one.
            self._generation += 1
        self._connected.clear()
        self.stats.disconnects += 1
        if not self._stop.is_set():
            log.warning("mqtt connection lost; reconnecting", extra={"reason": str(reason)})

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if self._draining:
            return  # not acknowledged: the broker redelivers it after the restart
        entry = Pending(self, msg.mid, msg.qos, self._generation)
        self.stats.received += 1
        try:
            mapped = map_publish(
                msg.topic,
                msg.payload,
                self.filters,
                now_ms=int(time.time() * 1000),
                secret=self.secret,
                max_future_ms=self.max_future_ms,
            )
            for point in mapped.points:
                contracts.check("locations_topic", point)
        except (RejectError, contracts.ContractError, UnicodeDecodeError) as exc:
            self._dead_letter(entry, msg, str(exc))
        else:
            if mapped.points:
                entry.remaining = len(mapped.points)
                for point in mapped.points:
                    self._produce(
                        entry, self.settings.kafka_topic, point["vehicle_id"].encode(), orjson.dumps(point)
                    )
                self.stats.points += len(mapped.points)
            else:
                self.stats.ignored += 1
        # Queued after its records are produced (remaining is set first), in arrival order: the poller
        # acknowledges the head of the queue only.
        with self._lock:
            self._pending.append(entry)

    def _dead_letter(self, entry: Pending, msg: mqtt.MQTTMessage, reason: str) -> None:
        original = msg.payload
        limit = self.settings.dlq_max_original_bytes
        if len(original) > limit:
            reason = f"{reason} (original truncated to {limit} of {len(original)} bytes)"
            original = original[:limit]
        record = dlq_record(reason, source=SERVICE, original=original)
        with contextlib.suppress(UnicodeDecodeError):
            record["topic"] = msg.topic
        self.stats.dead_lettered += 1
        entry.remaining = 1
        self._produce(entry, self.settings.kafka_dlq_topic, None, orjson.dumps(record))

    def _produce(self, entry: Pending, topic: str, key: bytes | None, value: bytes) -> None:
        while True:
            try:
                self.producer.produce(topic, value, key, on_delivery=entry.delivered)
                return
            except BufferError:
                time.sleep(0.01)  # the poller thread drains the queue

    # --- Kafka side ----------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.05)
            self._acknowledge_ready()

    def _acknowledge_ready(self) -> None:
        with self._lock:
            while self._pending:
                head = self._pending[0]
                if head.failed and time.monotonic() - head.failed_at >= RETRY_DELAY_S:
                    for topic, key, value in head.failed:
                        # librdkafka gave up on it (not a timeout: there is none); try again, in place.
                        self.producer.produce(topic, value, key, on_delivery=head.delivered)
                    head.failed.clear()
                if head.remaining > 0:
                    return
                self._pending.popleft()
                if head.qos > 0 and head.generation == self._generation:
                    self.client.ack(head.mid, head.qos)
                    self.stats.acked += 1

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> Bridge:
        self._poller.start()
        s = self.settings
        self.client.connect_async(
            s.mqtt_broker_host,
            s.mqtt_broker_port,
            keepalive=s.mqtt_keepalive_s,
            clean_start=False,
            properties=self._connect_properties(),
        )
        self.client.loop_start()
        return self

    def stop(self) -> None:
        """Stop taking messages, let Kafka acknowledge what is in hand, send those PUBACKs, disconnect."""
        self._draining = True
        deadline = time.monotonic() + self.settings.drain_timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    break
            time.sleep(0.02)
        with self._lock:
            left = len(self._pending)
        self._stop.set()
        self._poller.join()
        self.client.disconnect()
        self.client.loop_stop()
        self.producer.flush(5)
        log.info("stopped", extra={**asdict(self.stats), "unacknowledged": left})

    def mqtt_connected(self) -> bool:
        return self._connected.is_set()

    def kafka_reachable(self) -> bool:
        return broker_reachable(self.producer, timeout=2.0)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def log_stats(self) -> None:
        """One structured line with the counters, when they changed since the last one."""
        current = {**asdict(self.stats), "pending": self.pending()}
        if current != self._last_stats:
            self._last_stats = current
            log.info("stats", extra=current)
