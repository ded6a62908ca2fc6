"""Helpers of the broker tests: private topics, and a reader of a whole topic."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from geostream.kafka import ensure_topics, make_consumer
from geostream.topics import DAY_MS, Topic

PARTITIONS = 3


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_topic(brokers: str, partitions: int = PARTITIONS) -> str:
    name = unique("broker-test")
    ensure_topics(brokers, [Topic(name, partitions, DAY_MS, key="")])
    return name


def read_values(
    brokers: str, topic: str, *, expected: int, timeout: float = 60.0, **consumer_config: str
) -> list[bytes]:
    """The values of every record of ``topic`` from the start of each partition (no consumer group),
    once ``expected`` were read or nothing more arrived for 2 s after ``timeout``."""
    consumer = make_consumer(brokers, group_id=unique("reader"), client_id="broker-tests", **consumer_config)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                values.append(msg.value())
        # Anything beyond what was expected (duplicates, records that should be hidden) shows up here.
        quiet_until = time.monotonic() + 2.0
        while time.monotonic() < quiet_until:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                values.append(msg.value())
        return values
    finally:
        consumer.close()
