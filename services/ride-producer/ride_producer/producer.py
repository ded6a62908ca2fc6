"""The send loop: ``RIDES_PER_SECOND`` records, keyed by ride id, in small paced batches."""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime

import orjson
from confluent_kafka import KafkaError, KafkaException
from prometheus_client import Counter

from geostream import contracts
from geostream.health import Check
from geostream.kafka import broker_reachable, make_producer, topic_writable
from geostream.lifecycle import Shutdown
from geostream.topics import RIDES_RAW
from ride_producer.city import city
from ride_producer.generator import malformed, ride
from ride_producer.settings import Settings

log = logging.getLogger("ride-producer")

PRODUCED = Counter("ride_producer_records", "Records handed to Kafka", ["kind"])
DELIVERED = Counter("ride_producer_delivered", "Records acknowledged by Kafka")
FAILED = Counter("ride_producer_failed", "Records Kafka did not acknowledge")

TICK_S = 0.1


class RideProducer:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.city = city(settings.ride_city)
        self.rng = random.Random(settings.ride_seed)
        self.producer = make_producer(
            settings.kafka_brokers,
            client_id="ride-producer",
            **{"message.timeout.ms": int(settings.delivery_timeout_s * 1000)},
        )
        self.sent = self.delivered = self.failed = self.malformed = 0
        self.last_error: str | None = None

    def _on_delivery(self, err: KafkaError | None, _msg: object) -> None:
        if err is None:
            self.delivered += 1
            DELIVERED.inc()
        else:
            self.failed += 1
            FAILED.inc()
            self.last_error = err.str()

    def records(self, count: int, moment: datetime) -> list[tuple[bytes, bytes]]:
        out = []
        for _ in range(count):
            record = ride(self.rng, self.city, moment)
            key = record["ride_id"].encode()
            if self.rng.random() < self.settings.malformed_share:
                kind, value = malformed(self.rng, record)
                self.malformed += 1
                PRODUCED.labels(kind).inc()
            else:
                contracts.check(RIDES_RAW.name, record)  # the contract, whatever the topic is called
                value = orjson.dumps(record)
                PRODUCED.labels("valid").inc()
            out.append((key, value))
        return out

    def send(self, records: list[tuple[bytes, bytes]]) -> None:
        for key, value in records:
            while True:
                try:
                    self.producer.produce(
                        self.settings.kafka_topic, value, key, on_delivery=self._on_delivery
                    )
                    break
                except BufferError:  # bounded local queue: wait for the broker instead of growing
                    self.producer.poll(0.1)
            self.sent += 1
        self.producer.poll(0)

    def run(self, shutdown: Shutdown, limit: int | None = None) -> None:
        """Send at the configured rate until ``shutdown`` (or ``limit`` records were sent)."""
        started = time.monotonic()
        while not shutdown.requested and (limit is None or self.sent < limit):
            due = int((time.monotonic() - started) * self.settings.rides_per_second) + 1 - self.sent
            if limit is not None:
                due = min(due, limit - self.sent)
            if due > 0:
                self.send(self.records(due, datetime.now(UTC)))
            self.producer.poll(0)
            shutdown.wait(TICK_S)

    def health_checks(self) -> dict[str, Check]:
        return {
            "kafka": lambda: broker_reachable(self.producer),
            "topic": lambda: topic_writable(self.producer, self.settings.kafka_topic) is None,
        }

    def close(self) -> int:
        """Flush what is queued; returns the records still undelivered."""
        try:
            return self.producer.flush(self.settings.delivery_timeout_s)
        except KafkaException:
            return len(self.producer)

    def stats(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "malformed": self.malformed,
        }
