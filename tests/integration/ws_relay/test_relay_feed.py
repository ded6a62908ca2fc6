"""ws-relay against the real broker: snapshot, coalesced updates, viewports, slow clients, bad input."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import requests
from relay_feed import Feed, now_ms, open_feed, point, raw_client, unique
from websockets.asyncio.client import connect


def test_snapshot_then_coalesced_updates(relay, producer):
    vehicles = [unique("bus") for _ in range(3)]
    t0 = now_ms()
    first = [point(v, t0, 2.0 + i, 48.0) for i, v in enumerate(vehicles)]
    producer.points(first)

    async def scenario():
        # A client connecting after the points were relayed finds them in its snapshot.
        deadline = time.monotonic() + 30
        while True:
            feed = await open_feed(relay.ws_url)
            if feed.has(first):
                break
            await feed.ws.close()
            assert time.monotonic() < deadline, "points never reached the snapshot"
            await asyncio.sleep(0.2)
        assert feed.frames[0]["type"] == "snapshot"

        rounds = 30
        burst = [point(v, t0 + k, 2.0 + i + k * 1e-4, 48.0, speed=3.5, heading=90.0)
                 for k in range(1, rounds + 1) for i, v in enumerate(vehicles)]  # fmt: skip
        producer.points(burst)
        final = burst[-len(vehicles) :]
        await feed.until(lambda f: f.has(final), what="the last point of every vehicle")
        await feed.ws.close()
        return feed, final

    feed, final = asyncio.run(scenario())
    updates = [f for f in feed.frames[1:] if f["type"] == "update"]
    assert updates, "updates come as update frames"
    for vid in vehicles:
        stamps = [p["ts"] for p in feed.points_of({vid})]
        assert stamps == sorted(stamps), "a vehicle never jumps back in time"
        # 30 points per vehicle were produced at once: the client got far fewer (latest wins per frame).
        assert len(stamps) - 1 < 30
    assert all(feed.latest[p["vehicle_id"]] == p for p in final)


def test_viewport_filters_and_resends_vehicles_coming_into_view(relay, producer):
    east, west, paris = unique("ship-east"), unique("ship-west"), unique("taxi-paris")
    t0 = now_ms()
    east_p = point(east, t0, 179.5, 1.0)
    west_p = point(west, t0, -179.5, -1.0)
    paris_p = point(paris, t0, 2.35, 48.85)

    async def scenario():
        watcher = await open_feed(relay.ws_url)  # no viewport: sees everything
        pacific = await open_feed(f"{relay.ws_url}?bbox=170,-10,-170,10")  # across the antimeridian
        producer.points([paris_p])
        await watcher.until(lambda f: f.has([paris_p]), what="paris on the unfiltered feed")
        producer.points([east_p, west_p])
        await watcher.until(lambda f: f.has([east_p, west_p]), what="both ships on the unfiltered feed")
        await pacific.until(lambda f: f.has([east_p, west_p]), what="both ships inside the viewport")
        # Paris reached the relay before the ships (the watcher saw it first), so it was filtered out.
        assert paris not in pacific.latest

        # Panning to Europe resends Paris at once, although it has not moved since.
        await pacific.ws.send('{"type":"viewport","bbox":[-10,35,20,60]}')
        await pacific.until(lambda f: f.has([paris_p]), what="paris after the viewport change")
        await pacific.ws.send('{"type":"viewport","bbox":null}')
        await pacific.until(lambda f: f.has([paris_p, east_p, west_p]), what="everything after bbox null")
        # The viewport in the URL filters the snapshot itself.
        async with connect(f"{relay.ws_url}?bbox=178,-5,-178,5", max_size=None) as ws:
            filtered = Feed(ws)
            snap = await filtered.next_frame(10)
        await watcher.ws.close()
        await pacific.ws.close()
        return pacific, snap

    _, snap = asyncio.run(scenario())
    assert snap["type"] == "snapshot"
    in_snapshot = {p["vehicle_id"] for p in snap["vehicles"]}
    assert {east, west} <= in_snapshot
    assert paris not in in_snapshot
    assert all(abs(p["lon"]) >= 178 and -5 <= p["lat"] <= 5 for p in snap["vehicles"])


def test_bad_client_messages_get_error_frames_and_the_feed_goes_on(relay, producer):
    vid = unique("van")

    async def scenario():
        feed = await open_feed(relay.ws_url)
        for bad in ("not json", '{"type":"subscribe"}', '{"type":"viewport","bbox":[1,2,3]}', "[]"):
            await feed.ws.send(bad)
        await feed.ws.send(b"\x00\x01")
        await feed.until(lambda f: len(f.errors) == 5, what="five error frames")
        p = point(vid, now_ms(), 10.0, 10.0)
        producer.points([p])
        await feed.until(lambda f: f.has([p]), what="updates after the errors")
        await feed.ws.close()
        return feed

    feed = asyncio.run(scenario())
    assert feed.errors[0] == "message is not valid JSON"
    assert "unknown message type 'subscribe'" in feed.errors[1]
    assert feed.errors[2].startswith("invalid bbox")
    assert feed.errors[3] == "message must be a JSON object"
    assert "binary" in feed.errors[4]
    assert relay.metrics()["client_messages_bad"] >= 5


def test_malformed_kafka_records_are_counted_and_skipped(relay, producer):
    vid = unique("tram")
    before = relay.metrics()
    good = point(vid, now_ms(), 4.0, 45.0)

    async def scenario():
        feed = await open_feed(relay.ws_url)
        producer.raw(
            [
                (vid.encode(), b"{not json"),
                (vid.encode(), None),
                (vid.encode(), b'{"vehicle_id": "x", "ts": 1, "lon": 500, "lat": 0}'),
                (vid.encode(), b'{"vehicleID": "x", "ts": 1, "lon": 5, "lat": 0}'),
                (vid.encode(), b'["a", "list"]'),
            ]
        )
        producer.points([good])
        await feed.until(lambda f: f.has([good]), what="the valid point after the malformed ones")
        await feed.ws.close()

    asyncio.run(scenario())
    deadline = time.monotonic() + 20
    while True:
        after = relay.metrics()
        if after["records_malformed"] - before["records_malformed"] >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    kinds = {
        k: after["records_malformed_by_kind"].get(k, 0) - before["records_malformed_by_kind"].get(k, 0)
        for k in ("not_json", "empty", "contract")
    }
    # At least: the session's broker is shared, another module's leftovers may add to the counts.
    assert kinds["not_json"] >= 1
    assert kinds["empty"] >= 1
    assert kinds["contract"] >= 3
    health = relay.health()
    assert health.status_code == 200
    assert health.json()["records_malformed"] == after["records_malformed"]
    assert relay.process.process.poll() is None


def test_a_client_that_never_reads_does_not_stall_the_others(start_relay, producer):
    relay = start_relay(
        "ws-relay-slow",
        RELAY_CLIENT_SNDBUF_BYTES="4096",
        RELAY_CLIENT_WRITE_LIMIT_BYTES="1024",
        RELAY_SLOW_CLIENT_TIMEOUT_S="2",
        RELAY_CLOSE_TIMEOUT_S="1",
    )
    slow = raw_client(relay.port)
    prefix = unique("fleet")

    async def scenario():
        fast = await open_feed(relay.ws_url)
        rounds = 0
        deadline = time.monotonic() + 90
        while relay.metrics()["clients_dropped_slow"] == 0:
            assert time.monotonic() < deadline, "the slow client was never dropped"
            rounds += 1
            batch = [point(f"{prefix}-{i:04d}-{'x' * 60}", now_ms() + rounds, i * 0.01, rounds * 0.01)
                     for i in range(400)]  # fmt: skip
            producer.points(batch)
            await fast.until(lambda f, b=batch: f.has(b), what=f"round {rounds} on the fast client")
        await fast.ws.close()
        return rounds

    rounds = asyncio.run(scenario())
    metrics = relay.metrics()
    assert rounds >= 1
    assert metrics["frames_skipped"] >= 1
    assert metrics["clients_dropped_slow"] == 1
    assert metrics["clients"] == 0
    assert hung_up(slow), "the relay did not close the slow client's connection"


def hung_up(sock: socket.socket) -> bool:
    """Drain a socket: True when it ends in EOF or a reset (the peer closed it), False on a time-out."""
    sock.settimeout(30)
    with sock:
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return True


@pytest.mark.parametrize("path", ["/health", "/healthz"])
def test_health_is_plain_http_on_the_websocket_port(relay, path):
    reply = requests.get(f"{relay.http_url}{path}", timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"kafka": "up", "lookback": "up"}
    assert body["instance"].startswith("ws-relay-")
    assert requests.get(f"{relay.http_url}/nope", timeout=5).status_code == 404
