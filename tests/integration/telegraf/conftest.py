from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from confluent_kafka.admin import NewTopic

from geostream.kafka import make_admin
from localservers.telegraf import telegraf_binary


@pytest.fixture(scope="session")
def telegraf_bin() -> str:
    """The real Telegraf that scripts/install-telegraf.sh builds (scripts/install-deps.sh runs it)."""
    try:
        return telegraf_binary()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def new_topic(kafka) -> Callable[[str], str]:
    """Creates a topic of one partition (one order for the whole test) with a name unique to the test."""

    def create(prefix: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        admin = make_admin(kafka.bootstrap)  # kept referenced until the future resolves
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=1, replication_factor=-1)], request_timeout=30
        )
        futures[name].result(30)
        return name

    return create
