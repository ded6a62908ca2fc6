"""ws-relay's edges: tokens (URL or subprotocol) or an allowed Origin, connections per address, the size
of client messages, and client messages that must never end their connection."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relay_feed import open_feed
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

TOKENS = ("relay-token-1", "relay-token-2")
MAP = "http://map.example"


@pytest.fixture(scope="module")
def secured(start_relay):
    return start_relay(
        "ws-relay-secured",
        RELAY_TOKENS=",".join(TOKENS),
        RELAY_ALLOWED_ORIGINS=MAP,
        RELAY_MAX_CLIENTS_PER_IP="3",
    )


async def refused_status(url: str, **kwargs) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, open_timeout=10, **kwargs):
            pass
    return info.value.response.status_code


def test_token_in_url_or_subprotocol_or_an_allowed_origin(secured):
    async def scenario():
        base = secured.ws_url
        assert await refused_status(base) == 401
        assert await refused_status(f"{base}?token=wrong") == 401
        assert await refused_status(base, origin="http://evil.example") == 401
        assert await refused_status(base, subprotocols=["bearer.wrong"]) == 401
        feed = await open_feed(f"{base}?token={TOKENS[0]}")
        await feed.ws.close()
        async with connect(base, subprotocols=[f"bearer.{TOKENS[1]}"], open_timeout=10) as ws:
            assert ws.subprotocol == f"bearer.{TOKENS[1]}"
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
        async with connect(base, origin=MAP, open_timeout=10) as ws:
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"

    asyncio.run(scenario())
    assert secured.health().status_code == 200  # probes need no token
    assert secured.metrics()["clients_unauthorized"] >= 4


def test_connections_per_address_are_limited(secured):
    async def scenario():
        url = f"{secured.ws_url}?token={TOKENS[0]}"
        feeds = [await open_feed(url) for _ in range(3)]
        assert await refused_status(url) == 429
        await feeds.pop().ws.close()
        deadline = asyncio.get_running_loop().time() + 30
        while True:  # the relay sees the close a moment later
            try:
                feeds.append(await open_feed(url))
                break
            except InvalidStatus:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.1)
        for feed in feeds:
            await feed.ws.close()

    asyncio.run(scenario())
    metrics = secured.metrics()
    assert metrics["clients_refused_per_ip"] >= 1
    prometheus = requests.get(f"{secured.http_url}/metrics", headers={"Accept": "text/plain"}, timeout=5)
    assert prometheus.headers["Content-Type"].startswith("text/plain")
    assert "ws_relay_clients_refused_per_ip_total" in prometheus.text
    assert "ws_relay_clients_unauthorized_total" in prometheus.text


def test_an_oversized_message_closes_only_that_connection(relay):
    before = relay.metrics()["client_messages_too_large"]

    async def scenario():
        bystander = await open_feed(relay.ws_url)
        sender = await open_feed(relay.ws_url)
        await sender.ws.send('{"type":"viewport","bbox":null,"pad":"' + "x" * 8000 + '"}')
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(sender.ws.recv(), 10)
        assert sender.ws.close_code == 1009
        await bystander.ws.send(orjson.dumps({"type": "viewport", "bbox": None}).decode())
        await bystander.ws.ping()
        await bystander.ws.close()

    asyncio.run(scenario())
    assert relay.metrics()["client_messages_too_large"] == before + 1


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
CLIENT_MESSAGES = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=200),
    JSON_VALUES.map(lambda v: orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()),
    st.builds(
        lambda bbox: orjson.dumps({"type": "viewport", "bbox": bbox}).decode(),
        JSON_VALUES | st.lists(st.floats() | st.integers(min_value=-(10**30), max_value=10**30), max_size=6),
    ),
)


@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(CLIENT_MESSAGES, min_size=200, max_size=200))
def test_generated_client_messages_never_end_the_connection(relay, messages):
    async def scenario():
        feed = await open_feed(relay.ws_url)
        for message in messages:
            await feed.ws.send(message)
        await feed.ws.send(orjson.dumps({"type": "viewport", "bbox": [-10, -10, 10, 10]}).decode())
        await feed.ws.ping()
        assert feed.ws.close_code is None
        await feed.ws.close()

    asyncio.run(scenario())
    metrics = relay.metrics()
    assert metrics["client_handler_errors"] == 0, "a message reached an unforeseen error"
    assert relay.health().status_code == 200
