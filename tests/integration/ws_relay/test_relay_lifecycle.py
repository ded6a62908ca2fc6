"""ws-relay as a process: several instances, start-up rebuild, broker outage, limits, SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import orjson
import pytest
from relay_feed import Producer, now_ms, open_feed, point, unique
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from localservers import KafkaServer


def test_every_instance_sees_every_message(start_relay, producer):
    """Two relays with the same KAFKA_GROUP_ID (a prefix, not a shared group) each relay everything."""
    one = start_relay("ws-relay-a", KAFKA_GROUP_ID="relay-fleet")
    two = start_relay("ws-relay-b", KAFKA_GROUP_ID="relay-fleet")
    ids = {one.health().json()["instance"], two.health().json()["instance"]}
    assert len(ids) == 2
    assert all(i.startswith("relay-fleet-") for i in ids)
    points = [point(unique("car"), now_ms(), i * 0.5, 10.0) for i in range(24)]  # spread over partitions

    async def scenario():
        feeds = [await open_feed(one.ws_url), await open_feed(two.ws_url)]
        producer.points(points)
        for feed in feeds:
            await feed.until(lambda f: f.has(points), what="all 24 points on both instances")
            await feed.ws.close()

    asyncio.run(scenario())


def test_a_fresh_relay_rebuilds_the_latest_positions_from_the_topic(start_relay, producer):
    t0 = now_ms()
    # More vehicles than fit one plain frame: the snapshot goes out as fragments of one message.
    prefix = unique("plane")
    vehicles = [f"{prefix}-{i}" for i in range(2500)]
    older = [point(v, t0 - 5_000, 1.0, 1.0) for v in vehicles]
    latest = [point(v, t0, 1.5, 1.5, speed=200.0) for v in vehicles]
    producer.points(older + latest)
    relay = start_relay("ws-relay-fresh")  # healthy = the look-back has been read

    async def first_snapshot():
        feed = await open_feed(relay.ws_url)
        await feed.ws.close()
        return feed.frames[0]

    snap = asyncio.run(first_snapshot())
    in_snapshot = {p["vehicle_id"]: p for p in snap["vehicles"]}
    assert [in_snapshot.get(p["vehicle_id"]) for p in latest] == latest
    assert relay.metrics()["bytes_sent"] >= len(orjson.dumps(snap))


@pytest.mark.parametrize("data", ["kept", "lost"])
def test_broker_outage_reports_unhealthy_then_recovers(start_relay, workdir, data):
    """A broker restart with its data, and one that lost its disk (the partitions start again at offset 0,
    behind where the relay stopped reading)."""
    broker = KafkaServer(workdir / unique("kafka-ws-relay-outage")).start()
    try:
        relay = start_relay(unique("ws-relay-outage"), brokers=broker.bootstrap)
        before = point(unique("boat"), now_ms(), 5.0, 5.0)
        kept = point(unique("buoy"), now_ms(), 5.5, 5.5)
        after = point(before["vehicle_id"], now_ms() + 1000, 6.0, 6.0)  # same vehicle, same partition

        async def scenario():
            feed = await open_feed(relay.ws_url)
            Producer(broker.bootstrap).points([before, kept])
            await feed.until(lambda f: f.has([before, kept]), what="points before the outage")
            # In a thread: the client keeps answering the relay's pings while the JVM stops and starts
            # (tens of seconds on a loaded machine, past the relay's ping timeout).
            await asyncio.to_thread(broker.stop)
            await wait_for_status(relay, 503, feed)
            body = relay.health().json()
            assert body["checks"]["kafka"] == "down"
            if data == "lost":
                broker.discard_data()
            await asyncio.to_thread(broker.start)  # same port
            await wait_for_status(relay, 200, feed)
            if data == "lost":
                # The relay spots a log that restarted behind it only when its new session positions
                # itself (offsets compared with the partitions' ends); a record produced before then at
                # an offset below where it had stopped would be skipped. /health is 200 earlier.
                await wait_for_log_line(relay, '"msg":"resuming"', feed)
            Producer(broker.bootstrap).points([after])
            await feed.until(lambda f: f.has([after]), timeout=60, what="a point after the outage")
            await feed.ws.close()
            return feed

        feed = asyncio.run(scenario())
        assert feed.latest[kept["vehicle_id"]] == kept, "clients keep the table through an outage"
        assert relay.process.process.poll() is None
    finally:
        broker.stop()


async def wait_for_log_line(relay, text: str, feed, timeout: float = 60.0) -> None:
    """Wait until the relay's log holds ``text``, while the client keeps reading."""
    deadline = time.monotonic() + timeout
    while text not in relay.process.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{text} never logged"
        with contextlib.suppress(TimeoutError):
            await feed.next_frame(0.5)


async def wait_for_status(relay, status: int, feed, timeout: float = 60.0) -> None:
    """Poll /health while the client keeps reading (a client stays connected through the outage)."""
    deadline = time.monotonic() + timeout
    while relay.health().status_code != status:
        assert time.monotonic() < deadline, f"/health never answered {status}"
        with contextlib.suppress(TimeoutError):
            await feed.next_frame(0.5)


def test_client_limit_and_sigterm(start_relay):
    relay = start_relay("ws-relay-term", RELAY_MAX_CLIENTS="2")

    async def scenario():
        feeds = [await open_feed(relay.ws_url), await open_feed(f"{relay.ws_url}?bbox=0,0,1,1")]
        with pytest.raises(InvalidStatus) as refused:
            await connect(relay.ws_url, open_timeout=10)
        assert refused.value.response.status_code == 503
        assert relay.metrics()["clients_refused"] == 1

        relay.process.process.send_signal(signal.SIGTERM)
        codes = []
        for feed in feeds:
            with pytest.raises(ConnectionClosed):
                while True:
                    await feed.next_frame(30)
            codes.append((feed.ws.close_code, feed.ws.close_reason))
        return codes

    codes = asyncio.run(scenario())
    assert codes == [(1001, "server shutting down")] * 2
    assert relay.process.process.wait(30) == 0
    lines = relay.process.log_path.read_text().splitlines()
    log = [orjson.loads(line) for line in lines if line.startswith("{")]
    messages = [entry["msg"] for entry in log]
    assert "shutting down" in messages
    assert messages[-1] == "stopped"
    assert all(entry["service"] == "ws-relay" for entry in log)
