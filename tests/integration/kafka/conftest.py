"""Fixtures of the broker tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from broker_support import unique

from localservers import KafkaServer


@pytest.fixture
def private_broker(workdir: Path) -> Iterator[KafkaServer]:
    """A broker of this test's own, free to stop, kill and restart."""
    server = KafkaServer(workdir / unique("kafka")).start(topics=False)
    yield server
    server.stop()
