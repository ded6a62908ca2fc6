"""UDP (and optional TCP) ndjson -> Kafka ``sensor_readings``, without ever blocking the socket.

Threads: one receives datagrams and only enqueues them (a bounded queue: when it is full the datagram is
dropped and counted, so a flood costs datagrams, never memory or a stalled socket); the TCP listener puts
lines in the same queue but waits for room (TCP senders get back-pressure instead of loss); one producer
thread parses, validates and hands records to librdkafka, which batches them (``linger.ms``). Invalid
lines go to the DLQ topic with the reason.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from zoneinfo import ZoneInfo

import orjson
from confluent_kafka import KafkaError, Producer
from prometheus_client import Counter, Gauge

from geostream.kafka import broker_reachable, dlq_record, make_producer
from geostream.sensors import MAX_LINE_BYTES, Reading, ReadingRules, parse_line
from udp_ingest.queueing import BoundedByteQueue
from udp_ingest.sequence import SequenceTracker
from udp_ingest.settings import Settings

log = logging.getLogger("udp-ingest")

DATAGRAMS = Counter("udp_ingest_datagrams", "UDP datagrams received")
TCP_LINES = Counter("udp_ingest_tcp_lines", "ndjson lines received over TCP")
LINES = Counter("udp_ingest_lines", "ndjson lines parsed (UDP and TCP)")
ACCEPTED = Counter("udp_ingest_accepted", "readings handed to Kafka")
REJECTED = Counter("udp_ingest_rejected", "lines rejected, by reason (sent to the DLQ)", ["reason"])
DROPPED = Counter("udp_ingest_dropped", "input dropped before parsing, by cause", ["cause"])
DELIVERED = Counter("udp_ingest_delivered", "records Kafka acknowledged", ["topic"])
DELIVERY_FAILED = Counter("udp_ingest_delivery_failed", "records Kafka did not acknowledge", ["topic"])
SEQ_GAPS = Counter("udp_ingest_seq_gaps", "records missing according to the senders' seq numbers")
QUEUE_DEPTH = Gauge("udp_ingest_queue_datagrams", "datagrams waiting for the producer thread")
QUEUE_BYTES = Gauge("udp_ingest_queue_bytes", "bytes waiting for the producer thread")
TRACKED = Gauge("udp_ingest_tracked_sensors", "sensors whose last seq is remembered")


class UdpIngest:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.rules = ReadingRules(
            zone=ZoneInfo(settings.sensor_timezone), max_future_us=settings.max_future_s * 1_000_000
        )
        self.queue = BoundedByteQueue(settings.queue_max_datagrams, settings.queue_max_bytes)
        self.sequences = SequenceTracker(settings.tracked_sensors)
        self.producer: Producer = make_producer(
            settings.kafka_brokers,
            client_id="udp-ingest",
            **{
                "linger.ms": settings.kafka_linger_ms,
                "queue.buffering.max.kbytes": settings.kafka_buffer_kbytes,
            },
        )
        self._stopping = threading.Event()
        self._drained = threading.Event()
        self._abandon = threading.Event()
        """Set when shutdown gave up waiting for Kafka: records still unsent are dropped and counted."""
        self.last_delivery_ok: float | None = None
        self.last_delivery_error: float | None = None
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, settings.udp_receive_buffer_bytes)
        self.udp.bind((settings.udp_host, settings.udp_port))
        self.udp.settimeout(0.5)
        self.tcp: socketserver.ThreadingTCPServer | None = None
        if settings.tcp_enabled:
            self.tcp = _tcp_server(self, settings.udp_host, self.udp_port)
        self._threads = [
            threading.Thread(target=self._receive_udp, name="udp-receive", daemon=True),
            threading.Thread(target=self._produce_loop, name="kafka-produce", daemon=True),
        ]
        if self.tcp is not None:
            self._threads.append(threading.Thread(target=self.tcp.serve_forever, name="tcp", daemon=True))

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def start(self) -> UdpIngest:
        for thread in self._threads:
            thread.start()
        log.info(
            "listening",
            extra={"udp": self.udp_port, "tcp": self.tcp is not None, "topic": self.settings.kafka_topic},
        )
        return self

    # -- receive (never blocks on anything but the socket) --

    def _receive_udp(self) -> None:
        recv = self.udp.recv
        offer = self.queue.offer
        while not self._stopping.is_set():
            try:
                datagram = recv(65_535)
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                log.exception("udp receive failed")
                continue
            DATAGRAMS.inc()
            if not offer(datagram):
                DROPPED.labels("queue_full").inc()

    # -- parse and produce --

    def _produce_loop(self) -> None:
        while True:
            item = self.queue.take(0.2)
            if item is None:
                self.producer.poll(0)
                if self._stopping.is_set():
                    break
                continue
            try:
                self.handle_payload(item)
            except Exception:  # a bug costs this payload, never the producer thread
                DROPPED.labels("internal_error").inc()
                log.exception("payload not processed")
            self.producer.poll(0)
        self._drained.set()

    def handle_payload(self, payload: bytes) -> None:
        """One datagram (or TCP line): every ndjson line in it becomes a record or a DLQ entry."""
        now_us = time.time_ns() // 1000
        for raw_line in payload.split(b"\n"):
            line = raw_line.strip()
            if not line:
                continue
            LINES.inc()
            result = parse_line(line, now_us=now_us, rules=self.rules)
            if isinstance(result, Reading):
                if result.seq is not None:
                    gap = self.sequences.observe(result.key, result.seq)
                    if gap:
                        SEQ_GAPS.inc(gap)
                self._produce(self.settings.kafka_topic, result.key.encode(), orjson.dumps(result.record))
                ACCEPTED.inc()
            else:
                REJECTED.labels(result.reason).inc()
                record = dlq_record(str(result), source="udp-ingest", original=line)
                self._produce(self.settings.kafka_dlq_topic, None, orjson.dumps(record))

    def _produce(self, topic: str, key: bytes | None, value: bytes) -> None:
        while True:
            try:
                self.producer.produce(topic, value, key, on_delivery=self._on_delivery)
                return
            except BufferError:
                # librdkafka's buffer is full (Kafka slow or down): wait here; the receive thread keeps
                # draining the socket into the bounded queue, which drops (and counts) when full.
                self.producer.poll(0.1)
                if self._abandon.is_set():
                    DROPPED.labels("kafka_buffer_full").inc()
                    return

    def _on_delivery(self, err: KafkaError | None, msg) -> None:
        if err is None:
            DELIVERED.labels(msg.topic()).inc()
            self.last_delivery_ok = time.monotonic()
        else:
            DELIVERY_FAILED.labels(msg.topic()).inc()
            self.last_delivery_error = time.monotonic()
            log.warning("kafka delivery failed", extra={"topic": msg.topic(), "error": err.str()})

    # -- health, metrics, shutdown --

    def refresh_gauges(self) -> None:
        QUEUE_DEPTH.set(len(self.queue))
        QUEUE_BYTES.set(self.queue.bytes)
        TRACKED.set(len(self.sequences))

    def health_checks(self) -> dict:
        def kafka() -> bool:
            self.refresh_gauges()
            return broker_reachable(self.producer)

        def delivering() -> bool:
            if self.last_delivery_error is None:
                return True
            return self.last_delivery_ok is not None and self.last_delivery_ok > self.last_delivery_error

        return {"kafka": kafka, "kafka_delivery": delivering, "receiver": self._threads[0].is_alive}

    def stop(self) -> int:
        """Stop receiving, process what is queued, flush Kafka; returns the records not delivered."""
        self._stopping.set()
        if self.tcp is not None:
            self.tcp.shutdown()
            self.tcp.server_close()
        self._threads[0].join(2)
        self.udp.close()
        self._threads[1].join(self.settings.shutdown_flush_s)
        if self._threads[1].is_alive():
            self._abandon.set()
            self._threads[1].join(2)
        left = self.producer.flush(self.settings.shutdown_flush_s)
        self.refresh_gauges()
        return left


def _tcp_server(ingest: UdpIngest, host: str, port: int) -> socketserver.ThreadingTCPServer:
    class LineHandler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while not ingest._stopping.is_set():
                line = self.rfile.readline(MAX_LINE_BYTES + 2)
                if not line:
                    return
                if not line.endswith(b"\n") and len(line) > MAX_LINE_BYTES:
                    DROPPED.labels("tcp_line_too_long").inc()
                    return  # the rest of the stream can no longer be split reliably
                TCP_LINES.inc()
                while not ingest.queue.put(line, timeout=1.0):
                    if ingest._stopping.is_set():
                        DROPPED.labels("shutdown").inc()
                        return

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    return Server((host, port), LineHandler)
