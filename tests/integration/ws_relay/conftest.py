from __future__ import annotations

import pytest
from relay_feed import Producer, Relay, relay_process

from localservers import free_port


@pytest.fixture(scope="module")
def start_relay(kafka, workdir):
    """Starts ws-relay processes (``python -m ws_relay``, as in its container); all stopped afterwards."""
    started = []

    def start(name: str = "ws-relay", brokers: str | None = None, wait: bool = True, **env: str) -> Relay:
        port = free_port()
        log_path = workdir / "logs" / f"{name}-{port}.log"
        process = relay_process(port, brokers or kafka.bootstrap, log_path, **env).start()
        started.append(process)
        relay = Relay(process, port)
        if wait:
            process.wait_healthy(f"{relay.http_url}/health")
        return relay

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="module")
def relay(start_relay) -> Relay:
    return start_relay()


@pytest.fixture(scope="module")
def producer(kafka) -> Producer:
    return Producer(kafka.bootstrap)
