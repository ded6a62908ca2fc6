"""The bridge: MQTT publishes in, Kafka records out, and the MQTT acknowledgement only after Kafka's.

paho-mqtt runs with ``manual_ack=True``: ``on_message`` (paho's network thread) maps the publish and
hands the record to the Kafka producer; a poller thread serves the producer's delivery reports and sends
the PUBACKs, in the order the publishes arrived (MQTT 3.1.1 section 4.6, MQTT 5 section 4.6). A crash
anywhere before the PUBACK leaves the message in the broker's persistent session, which redelivers it
to the next bridge with the same client id: at least once, never lost. Duplicates are harmless
downstream (points are keyed by vehicle and time).

No exception leaves a paho callback: an exception that escapes ``on_message`` ends paho's network
thread, nothing is acknowledged any more, and the same publish, redelivered after a restart, kills the
next bridge too. Whatever a payload does to the mappers (a rejection, or an error nobody foresaw) turns
into a dead letter with the reason, and that dead letter is acknowledged like any record.

Memory is bounded by the MQTT 5 Receive Maximum: the broker sends no more than that many unacknowledged
messages, so at most that many are held here while Kafka is slow or down (librdkafka retries without a
deadline, ``message.timeout.ms=0``). A producer that hit a fatal error (fenced, idempotence state lost)
is replaced by the poller; its undelivered records are produced again on the new one.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from geostream import contracts
from geostream.kafka import (
    PRODUCER_STATE_LOST,
    ReplaceableProducer,
    broker_reachable,
    dlq_record,
    make_producer,
)
from geostream.sources import RejectError
from geostream.timestamps import parse_min_timestamp
from mqtt_bridge.buffered import BufferedClient
from mqtt_bridge.routing import map_publish, parse_filters
from mqtt_bridge.settings import Settings

log = logging.getLogger("mqtt-bridge")

SERVICE = "mqtt-bridge"
RETRY_DELAY_S = 1.0
"""Pause before producing a record again that Kafka refused."""
RETAIN_SEND_ON_NEW_SUBSCRIPTION = 1
"""MQTT 5 Retain Handling 1: retained messages only when the subscription is new, not on every reconnect."""
QUEUE_FULL = "local producer queue full"
MAX_REASON_CHARS = 1000

Record = tuple[str, bytes | None, bytes]
"""(topic, key, value) of one Kafka record."""


def producer_unusable(err: KafkaError) -> bool:
    """After this error the producer can deliver nothing more: only a new producer recovers."""
    return err.fatal() or err.code() in PRODUCER_STATE_LOST


class Pending:
    """One received publish, until every record made from it is in Kafka."""

    __slots__ = ("bridge", "failed", "failed_at", "generation", "mid", "qos", "received_at", "remaining")

    def __init__(self, bridge: Bridge, mid: int, qos: int, generation: int):
        self.bridge = bridge
        self.mid = mid
        self.qos = qos
        self.generation = generation
        self.received_at = time.monotonic()
        self.remaining = 0
        self.failed: list[Record] = []
        self.failed_at = 0.0

    def defer(self, record: Record) -> None:
        """Produce ``record`` again later (the poller does, after RETRY_DELAY_S)."""
        self.failed.append(record)
        self.failed_at = time.monotonic()
        self.bridge.stats.kafka_errors += 1

    def delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.remaining -= 1
            return
        if producer_unusable(err):
            self.bridge.request_producer_replacement(err)
        self.defer((msg.topic(), msg.key(), msg.value()))
        log.warning("kafka refused a record; it will be produced again", extra={"error": err.str()})


@dataclass
class Stats:
    received: int = 0
    points: int = 0
    ignored: int = 0
    dead_lettered: int = 0
    acked: int = 0
    kafka_errors: int = 0
    producer_replacements: int = 0
    disconnects: int = 0
    callback_errors: int = 0
    poller_errors: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    """Dead-lettered publishes by kind of reason (invalid, contract, too_large, internal_error)."""

    def as_log(self) -> dict[str, Any]:
        counters = {k: v for k, v in vars(self).items() if k != "rejected"}
        return {**counters, "rejected": dict(self.rejected)}


def safe_text(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """Text that always encodes as JSON (no lone surrogates), cut to ``limit`` characters."""
    return text[:limit].encode("utf-8", errors="replace").decode("utf-8")


class Bridge:
    def __init__(self, settings: Settings, producer_factory: Callable[[], Producer] | None = None):
        self.settings = settings
        self.filters = parse_filters(settings.mqtt_topic_filters)
        self.secret = settings.owntracks_secret.get_secret_value() if settings.owntracks_secret else None
        if self.secret:
            import nacl.secret  # noqa: F401  (fail at start-up, not on the first encrypted message)
        self.max_future_ms = settings.ingest_max_future_s * 1000
        self.min_ts_ms = parse_min_timestamp(settings.ingest_min_timestamp)
        self.kafka = ReplaceableProducer(
            producer_factory
            or (lambda: make_producer(settings.kafka_brokers, client_id=SERVICE, **{"message.timeout.ms": 0}))
        )
        self.stats = Stats()
        self._last_stats: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._produce_lock = threading.Lock()
        """Held while handing a record to the producer and while swapping the producer, so that no record
        goes to a producer after it was replaced (its delivery report would never be served)."""
        self._pending: collections.deque[Pending] = collections.deque()
        self._generation = 0
        self._connected = threading.Event()
        self._replace_requested = threading.Event()
        self._draining = False
        self._started = False
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="kafka-poller", daemon=True)
        self.client = self._make_client()

    @property
    def producer(self) -> Producer:
        return self.kafka.producer

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
        client.on_connect = self._guarded(self._on_connect)
        client.on_disconnect = self._guarded(self._on_disconnect)
        client.on_message = self._guarded(self._on_message)
        return client

    def _guarded(self, callback: Any) -> Any:
        """The callback, with anything it raises logged and counted instead of ending paho's thread."""

        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:
                self.stats.callback_errors += 1
                log.exception("unexpected error in an MQTT callback", extra={"callback": callback.__name__})

        return guarded

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
        records = self._records_for(msg)
        entry.remaining = len(records)
        for record in records:
            self._produce(entry, record)
        # Queued after its records are produced (remaining is set first), in arrival order: the poller
        # acknowledges the head of the queue only.
        with self._lock:
            self._pending.append(entry)

    def _records_for(self, msg: mqtt.MQTTMessage) -> list[Record]:
        """The Kafka records for one publish: its points, or one dead letter; never raises."""
        payload: bytes = msg.payload
        topic = self._topic_of(msg)
        if len(payload) > self.settings.mqtt_max_payload_bytes:
            reason = f"payload of {len(payload)} bytes exceeds {self.settings.mqtt_max_payload_bytes}"
            return [self._dead_letter(topic, payload, reason, "too_large")]
        try:
            mapped = map_publish(
                topic or "",
                payload,
                self.filters,
                now_ms=int(time.time() * 1000),
                secret=self.secret,
                max_future_ms=self.max_future_ms,
                min_ts_ms=self.min_ts_ms,
            )
            for point in mapped.points:
                contracts.check("locations_topic", point)
            records = [
                (self.settings.kafka_topic, point["vehicle_id"].encode(), orjson.dumps(point))
                for point in mapped.points
            ]
        except RejectError as exc:
            return [self._dead_letter(topic, payload, exc.reason, "invalid")]
        except contracts.ContractError as exc:
            return [self._dead_letter(topic, payload, str(exc), "contract")]
        except Exception as exc:
            # A payload no mapper foresaw (a bug to fix there): dead-lettered, so it is acknowledged and
            # can be replayed once fixed, instead of ending this thread and every later delivery.
            log.exception("unexpected error mapping a publish; dead-lettered", extra={"topic": topic})
            reason = f"internal error: {type(exc).__name__}: {exc}"
            return [self._dead_letter(topic, payload, reason, "internal_error")]
        if records:
            self.stats.points += len(records)
        else:
            self.stats.ignored += 1
        return records

    @staticmethod
    def _topic_of(msg: mqtt.MQTTMessage) -> str | None:
        try:
            return msg.topic
        except UnicodeDecodeError:
            return None

    def _dead_letter(self, topic: str | None, payload: bytes, reason: str, kind: str) -> Record:
        limit = self.settings.dlq_max_original_bytes
        original = payload
        if len(original) > limit:
            reason = f"{reason} (original truncated to {limit} of {len(original)} bytes)"
            original = original[:limit]
        record = dlq_record(safe_text(reason), source=SERVICE, original=original)
        if topic is not None:
            record["topic"] = safe_text(topic)
        self.stats.dead_lettered += 1
        self.stats.rejected[kind] += 1
        return (self.settings.kafka_dlq_topic, None, orjson.dumps(record))

    # --- Kafka side ----------------------------------------------------------------------------
    def _try_produce(self, entry: Pending, record: Record) -> str | None:
        """Hand ``record`` to the current producer; None when done, else why it could not be."""
        topic, key, value = record
        with self._produce_lock:
            try:
                self.kafka.producer.produce(topic, value, key, on_delivery=entry.delivered)
            except BufferError:
                return QUEUE_FULL
            except KafkaException as exc:
                err = exc.args[0]
                if isinstance(err, KafkaError) and producer_unusable(err):
                    self.request_producer_replacement(err)
                return err.str() if isinstance(err, KafkaError) else str(err)
        return None

    def _produce(self, entry: Pending, record: Record) -> None:
        """From paho's thread: wait while the local queue is full, defer on any other refusal."""
        while True:
            problem = self._try_produce(entry, record)
            if problem is None:
                return
            if problem == QUEUE_FULL and not self._stop.is_set():
                time.sleep(0.01)  # the poller thread drains the queue
                continue
            log.warning("kafka producer refused a record; producing it again later", extra={"error": problem})
            entry.defer(record)
            return

    def request_producer_replacement(self, err: KafkaError) -> None:
        if not self._replace_requested.is_set():
            log.error("kafka producer unusable; replacing it", extra={"error": err.str()})
        self._replace_requested.set()

    def _replace_producer(self) -> None:
        with self._produce_lock:
            broken = self.kafka.producer
            self.kafka.replace(broken)
            self._replace_requested.clear()
        self.stats.producer_replacements += 1
        # Fail what the old producer still holds: the delivery reports put each record back in its
        # publish's retry list, and the next round produces it on the new producer.
        with contextlib.suppress(KafkaException, RuntimeError):
            broken.purge(in_queue=True, in_flight=True, blocking=False)
        with contextlib.suppress(KafkaException, RuntimeError):
            broken.flush(5)

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self._replace_requested.is_set():
                    self._replace_producer()
                self.kafka.producer.poll(0.05)
                self._retry_failed()
                self._acknowledge_ready()
            except Exception:
                # Never let this thread end: nothing would be acknowledged any more.
                self.stats.poller_errors += 1
                log.exception("unexpected error in the kafka poller")
                self._stop.wait(RETRY_DELAY_S)

    def _retry_failed(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [e for e in self._pending if e.failed and now - e.failed_at >= RETRY_DELAY_S]
        for entry in due:
            records, entry.failed = entry.failed, []
            for index, record in enumerate(records):
                problem = self._try_produce(entry, record)
                if problem is not None:
                    entry.failed.extend(records[index:])  # the rest waits for the next round
                    entry.failed_at = time.monotonic()
                    if problem != QUEUE_FULL:
                        self.stats.kafka_errors += 1
                    return

    def _acknowledge_ready(self) -> None:
        with self._lock:
            while self._pending:
                head = self._pending[0]
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
        self._started = True
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
        self.kafka.producer.flush(5)
        log.info("stopped", extra={**self.stats.as_log(), "unacknowledged": left})

    # --- health --------------------------------------------------------------------------------
    def mqtt_connected(self) -> bool:
        return self._connected.is_set()

    def kafka_reachable(self) -> bool:
        return broker_reachable(self.kafka.producer, timeout=2.0)

    def threads_alive(self) -> bool:
        """paho's network thread and the Kafka poller both run (after start, until stop)."""
        if not self._started:
            return False
        network = getattr(self.client, "_thread", None)  # paho-mqtt is pinned: its loop thread
        return self._poller.is_alive() and network is not None and network.is_alive()

    def delivering(self) -> bool:
        """No publish has waited for Kafka longer than HEALTH_MAX_PENDING_AGE_S."""
        return self.oldest_pending_age_s() <= self.settings.health_max_pending_age_s

    def health_checks(self) -> dict[str, Any]:
        return {
            "mqtt": self.mqtt_connected,
            "kafka": self.kafka_reachable,
            "threads": self.threads_alive,
            "delivery": self.delivering,
        }

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def oldest_pending_age_s(self) -> float:
        with self._lock:
            head = self._pending[0] if self._pending else None
        return time.monotonic() - head.received_at if head is not None else 0.0

    def log_stats(self) -> None:
        """One structured line with the counters, when they changed since the last one."""
        current = {**self.stats.as_log(), "pending": self.pending()}
        if current != self._last_stats:
            self._last_stats = current
            log.info("stats", extra=current)
