"""Protocol v2 against the real broker: negotiation, binary and JSON frames, panel fields, tile pans,
heartbeats, half-open clients, the look-back gate and partitions added to the topic later."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
import requests
from confluent_kafka.admin import NewPartitions, NewTopic
from relay_feed import now_ms, open_feed, open_feed_v2, point, raw_client, unique
from test_relay_feed import hung_up
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from geostream.kafka import make_admin, make_producer

PARIS = "2.25,48.8,2.45,48.9"


@pytest.mark.parametrize("fmt", ["bin", "json"])
def test_v2_carries_the_panel_fields_with_server_time(relay, producer, fmt):
    vid = unique(f"bus-{fmt}-Zürich")
    p = point(
        vid, now_ms(), 2.35, 48.85, speed=12.5, heading=90.0, alt=35.5, battery=87.5, source="owntracks"
    )
    bare = point(unique("tracker"), now_ms(), 2.36, 48.86)

    async def scenario():
        feed = await open_feed_v2(relay.ws_url, fmt)
        producer.points([p, bare])
        await feed.until(lambda f: f.has([p, bare]), what="both points")
        v1 = await open_feed(relay.ws_url)  # an old client on the same relay: JSON, fields added
        await feed.ws.close()
        await v1.ws.close()
        return feed, v1

    before = time.time() * 1000
    feed, v1 = asyncio.run(scenario())
    hello = dict(feed.hello, server_time=0)
    assert hello == {"type": "hello", "protocol": 2, "format": fmt, "server_time": 0,
                     "frame_interval_ms": 100, "heartbeat_s": 5, "vehicle_ttl_s": 600}  # fmt: skip
    assert all(before - 60_000 < t < before + 60_000 for t in [feed.hello["server_time"], *feed.server_times])
    got = feed.vehicles[vid]
    assert (got["speed"], got["heading"], got["alt"], got["battery"], got["source"]) == (
        12.5, 90.0, 35.5, 87.5, "owntracks"
    )  # fmt: skip
    unknown = feed.vehicles[bare["vehicle_id"]]
    if fmt == "bin":
        assert all(unknown[k] != unknown[k] for k in ("speed", "heading", "alt", "battery"))  # NaN
        assert unknown["source"] == ""
    else:
        assert unknown == bare
    assert v1.latest[vid] == p


def test_a_pan_sends_what_entered_removes_what_left_and_splits_the_antimeridian(relay, producer):
    t0 = now_ms()
    paris = [point(unique("paris"), t0, 2.3 + i * 0.01, 48.85) for i in range(5)]
    lyon = [point(unique("lyon"), t0, 4.8 + i * 0.01, 45.75) for i in range(5)]
    ships = [point(unique("ship"), t0, 179.5, 1.0), point(unique("ship"), t0, -179.5, -1.0)]
    producer.points(paris + lyon + ships)
    paris_ids, lyon_ids = {p["vehicle_id"] for p in paris}, {p["vehicle_id"] for p in lyon}

    async def scenario():
        feed = await open_feed_v2(relay.ws_url, "bin", bbox=PARIS)
        await feed.until(lambda f: f.has(paris), what="Paris in the snapshot")
        assert not lyon_ids & set(feed.vehicles)
        mark = len(feed.frames)
        await feed.ws.send(
            orjson.dumps({"type": "viewport", "bbox": [4.75, 45.7, 4.95, 45.8], "zoom": 12}).decode()
        )
        await feed.until(lambda f: f.has(lyon) and not paris_ids & set(f.vehicles), what="Paris -> Lyon")
        after_pan = feed.frames[mark:]
        mark = len(feed.frames)
        await feed.ws.send(
            orjson.dumps({"type": "viewport", "bbox": [170, -10, -170, 10], "zoom": 4}).decode()
        )
        await feed.until(lambda f: f.has(ships) and not lyon_ids & set(f.vehicles), what="Lyon -> Pacific")
        after_date_line = feed.frames[mark:]
        await feed.ws.close()
        return feed, after_pan, after_date_line

    feed, after_pan, after_date_line = asyncio.run(scenario())
    removed = {vid for kind, ids in after_pan if kind == "remove" for vid in ids}
    upserted = {vid for kind, ids in after_pan if kind != "remove" for vid in ids}
    assert paris_ids <= removed
    assert not paris_ids & upserted, "a pan never re-sends what the client already had"
    assert lyon_ids <= upserted
    # Across the date line: the two ships, nothing from the other side of the world.
    upserted = {vid for kind, ids in after_date_line if kind != "remove" for vid in ids}
    assert {s["vehicle_id"] for s in ships} <= upserted
    assert not (paris_ids | lyon_ids) & upserted
    assert all(abs(p["lon"]) >= 90 for p in feed.vehicles.values())


def test_heartbeats_fill_silences_for_v2_only(start_relay):
    relay = start_relay("ws-relay-heartbeat", RELAY_HEARTBEAT_S="1")

    async def scenario():
        v2 = await open_feed_v2(relay.ws_url, "json", bbox="-140,-50,-139.9,-49.9")  # empty ocean
        v1 = await open_feed(f"{relay.ws_url}?bbox=-140,-50,-139.9,-49.9")
        await v2.until(lambda f: sum(k == "heartbeat" for k, _ in f.frames) >= 2, 20, "two heartbeats")
        with pytest.raises(TimeoutError):
            await v1.next_frame(1.5)
        await v2.ws.close()
        await v1.ws.close()
        return v2

    v2 = asyncio.run(scenario())
    assert v2.hello["heartbeat_s"] == 1
    assert relay.metrics()["heartbeats_sent"] >= 2


def test_a_half_open_client_is_dropped_by_ping_timeout(start_relay):
    relay = start_relay("ws-relay-ping", RELAY_PING_INTERVAL_S="1", RELAY_PING_TIMEOUT_S="1")
    silent = raw_client(relay.port)  # never reads: never answers a ping
    deadline = time.monotonic() + 60
    while relay.metrics()["clients_dropped_ping"] == 0:
        assert time.monotonic() < deadline, "the relay never dropped the silent client"
        time.sleep(0.2)
    assert relay.metrics()["clients"] == 0
    assert hung_up(silent)


def create_topic(brokers: str, topic: str, partitions: int) -> None:
    admin = make_admin(brokers)  # kept referenced until the futures complete
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(30)


def test_clients_wait_until_the_look_back_is_read(start_relay, kafka):
    topic = unique("ws-loading")
    relay = start_relay("ws-relay-loading", wait=False, KAFKA_WEBSOCKET_TOPIC=topic)
    deadline = time.monotonic() + 60
    while True:  # the broker is up, the topic to read back does not exist yet
        try:
            body = relay.health().json()
            if body["checks"]["kafka"] == "up":
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the relay never answered /health"
        time.sleep(0.2)
    health = relay.health()
    assert (health.status_code, health.json()["status"]) == (503, "loading")

    async def refused():
        with pytest.raises(InvalidStatus) as caught:
            await connect(f"{relay.ws_url}?v=2&format=bin", open_timeout=10)
        return caught.value.response

    response = asyncio.run(refused())
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert relay.metrics()["clients_refused_loading"] >= 1

    create_topic(kafka.bootstrap, topic, 2)
    relay.process.wait_healthy(f"{relay.http_url}/health")

    async def accepted():
        feed = await open_feed_v2(relay.ws_url, "bin")
        await feed.ws.close()

    asyncio.run(accepted())


def test_partitions_added_later_are_read(start_relay, kafka):
    topic = unique("ws-grow")
    create_topic(kafka.bootstrap, topic, 1)
    relay = start_relay("ws-relay-grow", KAFKA_WEBSOCKET_TOPIC=topic, RELAY_METADATA_REFRESH_S="1")
    p = point(unique("late-partition"), now_ms(), 10.0, 10.0)

    async def scenario():
        feed = await open_feed_v2(relay.ws_url, "bin")
        admin = make_admin(kafka.bootstrap)
        for future in admin.create_partitions([NewPartitions(topic, 3)]).values():
            future.result(30)
        deadline = time.monotonic() + 60
        while relay.metrics()["partitions"] < 3:
            assert time.monotonic() < deadline, "the relay never assigned the new partitions"
            await asyncio.sleep(0.5)
        producer = make_producer(kafka.bootstrap, client_id="ws-relay-tests-grow")
        producer.produce(topic, orjson.dumps(p), p["vehicle_id"].encode(), partition=2)
        assert producer.flush(30) == 0
        await feed.until(lambda f: f.has([p]), timeout=60, what="the point on the new partition")
        await feed.ws.close()

    asyncio.run(scenario())
