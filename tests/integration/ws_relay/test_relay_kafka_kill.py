"""ws-relay while Kafka crashes (SIGKILL) at different moments of its consumer's life.

The relay must never exit because Kafka died: /health answers 503 during the outage, clients keep their
connection and their table, and once the broker is back the relay resumes and delivers new records.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import pytest
from relay_feed import Feed, Producer, Relay, now_ms, open_feed, point, relay_process, unique

from localservers import KafkaServer, free_port
from ws_relay.kafka_source import KafkaSource
from ws_relay.settings import Settings
from ws_relay.stats import Stats
from ws_relay.table import LatestTable

PROBE_S = 0.5
"""RELAY_METADATA_REFRESH_S: the relay notices an outage, and its end, within half a second."""


@pytest.fixture(scope="module")
def broker(workdir):
    """A broker of this module's own: the tests kill it."""
    server = KafkaServer(workdir / unique("kafka-ws-relay-kill")).start()
    yield server
    server.stop()


def running(broker: KafkaServer) -> KafkaServer:
    if broker.process is None or broker.process.poll() is not None:
        broker.start()
    return broker


def start_relay(broker: KafkaServer, workdir, name: str) -> Relay:
    port = free_port()
    log_path = workdir / "logs" / f"{name}-{port}.log"
    process = relay_process(port, broker.bootstrap, log_path, RELAY_METADATA_REFRESH_S=str(PROBE_S))
    return Relay(process.start(), port)


def assert_alive(relays: list[Relay]) -> None:
    for relay in relays:
        code = relay.process.process.poll()
        assert code is None, f"ws-relay exited ({code}); log:\n{relay.process.log()}"


def health_status(relay: Relay) -> int | None:
    with contextlib.suppress(OSError):
        return relay.health().status_code
    return None


async def wait_for_status(relays: list[Relay], status: int, feed: Feed, timeout: float = 90.0) -> None:
    """Poll every relay's /health until each answers ``status``, while the client keeps reading."""
    deadline = time.monotonic() + timeout
    while any(health_status(relay) != status for relay in relays):
        assert_alive(relays)
        assert time.monotonic() < deadline, f"/health never answered {status}"
        with contextlib.suppress(TimeoutError):
            await feed.next_frame(0.05)


async def wait_for_log_line(relay: Relay, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in relay.process.log_path.read_text(errors="replace"):
        assert_alive([relay])
        assert time.monotonic() < deadline, f"{text} never logged"
        await asyncio.sleep(0.02)


def test_relay_outlives_kafka_killed_at_any_moment(broker, workdir):
    """Kafka SIGKILLed while one relay fetches and another one's consumer is starting, restarted, then
    SIGKILLed again the moment the relays see it back (each is closing its consumer to start a new
    session: the moment that used to end the relay with aiokafka's CancelledError)."""
    running(broker)
    fetching = start_relay(broker, workdir, "ws-relay-kill-fetching")
    fetching.process.wait_healthy(f"{fetching.http_url}/health", timeout=60)
    relays = [fetching]
    vehicle = unique("boat")
    before = point(vehicle, now_ms(), 7.0, 7.0)

    async def scenario() -> None:
        feed = await open_feed(fetching.ws_url)
        Producer(broker.bootstrap).points([before])
        await feed.until(lambda f: f.has([before]), what="a point before the first kill")

        starting = start_relay(broker, workdir, "ws-relay-kill-starting")
        relays.append(starting)
        await wait_for_log_line(starting, '"msg":"listening"')  # its Kafka source starts right after
        broker.kill()
        await wait_for_status(relays, 503, feed)
        await asyncio.to_thread(broker.start)

        await wait_for_status([fetching], 200, feed)
        broker.kill()
        await wait_for_status(relays, 503, feed)
        await asyncio.to_thread(broker.start)
        await wait_for_status(relays, 200, feed)

        after = point(vehicle, now_ms() + 1000, 8.0, 8.0)
        Producer(broker.bootstrap).points([after])
        await feed.until(lambda f: f.has([after]), timeout=60, what="a point after the outages")
        late = await open_feed(starting.ws_url)
        await late.until(lambda f: f.has([after]), timeout=60, what="the point on the relay started in it")
        await late.ws.close()
        await feed.ws.close()

    try:
        asyncio.run(scenario())
        assert_alive(relays)
        for relay in relays:
            assert "task ended unexpectedly" not in relay.process.log_path.read_text(errors="replace")
    except BaseException:
        for relay in relays:
            print(f"--- {relay.process.log_path.name} (exit code {relay.process.process.poll()})")
            print(relay.process.log())
        raise
    finally:
        for relay in relays:
            relay.process.stop()


def test_a_session_closed_while_kafka_is_dead_ends_cleanly(broker):
    """The Kafka source in-process: its session ends (here: stop) while the broker is dead and its
    consumer is backing off between failed fetches. Closing that consumer raised aiokafka's own
    CancelledError out of the session; the source must end normally instead."""
    running(broker)

    async def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.05)

    async def scenario() -> asyncio.Task:
        settings = Settings(kafka_brokers=broker.bootstrap, relay_metadata_refresh_s=PROBE_S)
        source = KafkaSource(settings, LatestTable(1000, 600_000), Stats(), client_id=unique("ws-relay-src"))
        task = asyncio.create_task(source.run())
        await until(lambda: source.connected and source.caught_up, "the source never read the topic")
        broker.kill()
        await until(lambda: not source.connected, "the source never noticed the broker was gone")
        await asyncio.sleep(1)  # a few failed fetches, each followed by a back-off sleep
        source.stop()
        await asyncio.wait({task}, timeout=30)
        return task

    task = asyncio.run(scenario())
    assert task.done(), "the source did not stop"
    assert not task.cancelled(), "the source ended with a CancelledError"
    assert task.exception() is None
