"""Rides tests: per-test topics on the session's real broker."""

from __future__ import annotations

import uuid

import pytest

from geostream.kafka import ensure_topics
from geostream.topics import RIDES_DLQ, RIDES_RAW, RIDES_RESULT, Topic


@pytest.fixture
def ride_topics(kafka) -> dict[str, str]:
    """rides_raw, rides_result and rides_dlq with a unique suffix, created with their real partitions."""
    tag = uuid.uuid4().hex[:8]
    topics = {
        t.name: Topic(f"{t.name}-{tag}", t.partitions, t.retention_ms, t.key)
        for t in (RIDES_RAW, RIDES_RESULT, RIDES_DLQ)
    }
    ensure_topics(kafka.bootstrap, list(topics.values()))
    return {name: t.name for name, t in topics.items()}
