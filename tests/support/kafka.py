from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from geostream.kafka import make_consumer


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: Any
    raw: bytes
    timestamp_ms: int


def read_topic(
    brokers: str,
    topic: str,
    *,
    where: Callable[[Record], bool] = lambda r: True,
    count: int | None = None,
    timeout: float = 20.0,
    settle: float = 1.0,
) -> list[Record]:
    """Every record of ``topic`` matching ``where``, read from the beginning of each partition.

    Stops when ``count`` matching records were read, or (``count`` None) when nothing new arrived for
    ``settle`` seconds; raises when ``count`` is not reached within ``timeout``. No consumer group: the
    assignment is explicit, so there is no rebalance to wait for.
    """
    consumer = make_consumer(brokers, group_id="tests-reader", client_id="tests-reader")
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        found: list[Record] = []
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                if count is None and time.monotonic() - last_new > settle:
                    break
                continue
            last_new = time.monotonic()
            raw = msg.value() or b""
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                value = None
            key = msg.key()
            key_text = key.decode() if key is not None else None
            record = Record(
                msg.topic(), msg.partition(), msg.offset(), key_text, value, raw, msg.timestamp()[1]
            )
            if where(record):
                found.append(record)
                if count is not None and len(found) >= count:
                    break
        if count is not None and len(found) < count:
            raise AssertionError(f"{len(found)} of {count} expected records on {topic} after {timeout} s")
        return found
    finally:
        consumer.close()
