"""Test-side tools for ws-relay: run it as a process, produce points, read its frames like a map would."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import requests
from support.processes import ROOT, ServiceProcess
from websockets.asyncio.client import ClientConnection, connect

from geostream.kafka import make_producer, produce_and_wait

TOPIC = "websocket_updates_topic"
RELAY_DIR = ROOT / "services" / "ws-relay"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Relay:
    process: ServiceProcess
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> requests.Response:
        return requests.get(f"{self.http_url}/health", timeout=5)

    def metrics(self) -> dict[str, Any]:
        reply = requests.get(f"{self.http_url}/metrics", timeout=5)
        reply.raise_for_status()
        return reply.json()


def relay_process(port: int, brokers: str, log_path: Path, **env: str) -> ServiceProcess:
    return ServiceProcess(
        [sys.executable, "-m", "ws_relay"],
        {"KAFKA_BROKERS": brokers, "WEBSOCKET_HOST": "127.0.0.1", "WEBSOCKET_PORT": str(port), **env},
        RELAY_DIR,
        log_path,
    )


class Producer:
    def __init__(self, brokers: str):
        self._producer = make_producer(brokers, client_id="ws-relay-tests")

    def raw(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        report = produce_and_wait(self._producer, TOPIC, records, timeout=30)
        assert report.complete, report

    def points(self, points: Iterable[dict[str, Any]]) -> None:
        self.raw((p["vehicle_id"].encode(), orjson.dumps(p)) for p in points)


def point(vid: str, ts: int, lon: float, lat: float, **extra: Any) -> dict[str, Any]:
    return {"vehicle_id": vid, "ts": ts, "lon": lon, "lat": lat, **extra}


class FrameWaiter:
    """``until``: read frames (the subclass's ``next_frame``) until a condition on the feed holds."""

    async def until(self, done: Callable[[Any], bool], timeout: float = 30.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what or done}; got {len(self.frames)} frames")
            try:
                await self.next_frame(remaining)
            except TimeoutError:
                continue


@dataclass
class Feed(FrameWaiter):
    """One client's view of the feed: every frame in order, and the latest point per vehicle."""

    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    async def next_frame(self, timeout: float) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(raw, str), "frames are JSON text"
        frame = orjson.loads(raw)
        assert frame["type"] in ("snapshot", "update", "error"), frame
        if frame["type"] == "error":
            self.errors.append(frame["error"])
        else:
            vids = [p["vehicle_id"] for p in frame["vehicles"]]
            assert len(vids) == len(set(vids)), "one point per vehicle per frame"
            for p in frame["vehicles"]:
                self.latest[p["vehicle_id"]] = p
        self.frames.append(frame)
        return frame

    def has(self, points: Iterable[dict[str, Any]]) -> bool:
        """Whether the latest point received for each of these vehicles is exactly this one."""
        return all(self.latest.get(p["vehicle_id"]) == p for p in points)

    def points_of(self, vehicle_ids: set[str]) -> list[dict[str, Any]]:
        return [
            p
            for f in self.frames
            if f["type"] != "error"
            for p in f["vehicles"]
            if p["vehicle_id"] in vehicle_ids
        ]


async def open_feed(url: str) -> Feed:
    ws = await connect(url, max_size=None, open_timeout=10)
    feed = Feed(ws)
    first = await feed.next_frame(10)
    assert first["type"] == "snapshot", first
    return feed


def raw_client(port: int, rcvbuf: int = 4096) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads (tiny receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "relay closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


@dataclass
class FeedV2(FrameWaiter):
    """A protocol v2 client: the hello, then frames applied as a map does (upsert, remove)."""

    ws: ClientConnection
    hello: dict[str, Any]
    vehicles: dict[str, dict[str, Any]] = field(default_factory=dict)
    frames: list[tuple[str, list[str]]] = field(default_factory=list)
    """(kind, vehicle ids) of every frame; heartbeats and errors with no ids."""
    server_times: list[float] = field(default_factory=list)

    async def next_frame(self, timeout: float) -> tuple[str, list[str]]:
        from ws_relay.protocol_v2 import decode_frame

        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        if isinstance(raw, bytes):
            assert self.hello["format"] == "bin", "binary frames only for format=bin"
            decoded = decode_frame(raw)
            kind, points = decoded.kind.name.lower(), decoded.vehicles
            self.server_times.append(decoded.server_time)
            ids = [p["vehicle_id"] for p in points]
        else:
            body = orjson.loads(raw)
            kind = body["type"]
            self.server_times.append(body.get("server_time", 0))
            points = body.get("vehicles", [])
            ids = body.get("ids", [p["vehicle_id"] for p in points])
            if kind in ("snapshot", "update", "remove"):
                assert self.hello["format"] == "json", "JSON data frames only for format=json"
        assert kind in ("snapshot", "update", "remove", "heartbeat", "error"), kind
        assert len(ids) == len(set(ids)), "one entry per vehicle per frame"
        if kind == "remove":
            for vid in ids:
                self.vehicles.pop(vid, None)
        else:
            for p in points:
                self.vehicles[p["vehicle_id"]] = p
        self.frames.append((kind, ids))
        return kind, ids

    def has(self, points: Iterable[dict[str, Any]]) -> bool:
        """Whether each of these points is what the client holds for its vehicle (same ts and place)."""
        return all(
            (got := self.vehicles.get(p["vehicle_id"])) is not None
            and (got["ts"], got["lon"], got["lat"]) == (p["ts"], p["lon"], p["lat"])
            for p in points
        )


async def open_feed_v2(url: str, fmt: str = "bin", bbox: str | None = None) -> FeedV2:
    query = f"v=2&format={fmt}" + (f"&bbox={bbox}" if bbox else "")
    ws = await connect(f"{url}?{query}", max_size=None, open_timeout=10)
    hello = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "hello", hello
    feed = FeedV2(ws, hello)
    await feed.until(lambda f: any(kind == "snapshot" for kind, _ in f.frames), 10, "the first snapshot")
    return feed
