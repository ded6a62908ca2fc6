"""Fan-out: one tick every frame interval builds each connected client's next frame.

Each client has a sender task and a one-frame outbox. A client that cannot take a frame now (its last
frame is still being written, or more than ``RELAY_CLIENT_WRITE_LIMIT_BYTES`` wait in its userspace
and kernel send buffers) is skipped this round: nothing queues up for it, because its next frame is
computed from the table when it is free again (one point per vehicle, however long it lagged). So
memory per client is bounded, what a slow client finally gets is recent, and it never delays the
others; one that had news but could not take any for ``RELAY_SLOW_CLIENT_TIMEOUT_S`` is closed with
1013 (try again later).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import socket
import struct
import time
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from ws_relay.coalesce import ClientView, Tick, snapshot
from ws_relay.geo import BBox
from ws_relay.protocol import Frame, LazyFrame
from ws_relay.protocol_v2 import Format, Negotiated, heartbeat, hello
from ws_relay.stats import Stats
from ws_relay.subscriptions import Round, Subscription
from ws_relay.table import LatestTable

log = logging.getLogger("ws-relay.hub")

V1 = Negotiated(1)

# Linux: bytes in a TCP socket's send queue not yet sent (waiting for the peer's window), excluding
# bytes in flight. The kernel buffer auto-tunes up to megabytes; without this, frames for a slow
# client would pile up there for seconds before the relay noticed.
SIOCOUTQNSD = 0x894B


def kernel_unsent(sock: socket.socket | None) -> int:
    if sock is None:
        return 0
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQNSD, b"\0\0\0\0"))[0]
    except (OSError, ValueError):  # not a TCP socket, not Linux, or already closed
        return 0


Message = tuple[Frame, bool]
"""A payload and whether it goes as a text message (JSON) or a binary one."""


class Client:
    __slots__ = (
        "blocked_since", "conn", "last_sent", "outbox", "sending", "sock", "stats", "sub", "view", "wake",
    )  # fmt: skip

    def __init__(
        self, conn: ServerConnection, stats: Stats, view: ClientView | None, sub: Subscription | None
    ):
        self.conn = conn
        self.view = view
        """Protocol v1 state (None for a v2 client)."""
        self.sub = sub
        """Protocol v2 state (None for a v1 client)."""
        self.stats = stats
        self.sock = conn.transport.get_extra_info("socket")
        self.outbox: list[Message] = []
        self.sending = False
        self.blocked_since: float | None = None
        """Loop time of the first round in which this client had news but could not take it."""
        self.last_sent = 0.0
        """Loop time of the last message posted (heartbeats fill silences)."""
        self.wake = asyncio.Event()

    def backlog(self) -> int:
        """Bytes written for this client and not yet sent: asyncio's buffer plus the kernel's."""
        return self.conn.transport.get_write_buffer_size() + kernel_unsent(self.sock)

    def ready(self, write_limit: int) -> bool:
        return not self.outbox and not self.sending and self.backlog() <= write_limit

    def behind(self, v1_tick: Tick | None, head: int) -> bool:
        if self.sub is not None:
            return self.sub.behind(head)
        return v1_tick is not None and v1_tick.behind(self.view)

    def post(self, messages: list[Message], now: float) -> None:
        self.outbox = messages
        self.blocked_since = None
        self.last_sent = now
        self.wake.set()

    async def run_sender(self) -> None:
        """Writes posted messages; ends with ConnectionClosed when the connection goes."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            messages, self.outbox = self.outbox, []
            self.sending = True
            for payload, text in messages:
                if isinstance(payload, LazyFrame):
                    await self.conn.send(payload.fragments(), text=True)
                else:
                    await self.conn.send(payload, text=text)
                self.stats.frames_sent += 1
                self.stats.bytes_sent += len(payload)
            self.sending = False


class Hub:
    def __init__(
        self,
        table: LatestTable,
        stats: Stats,
        *,
        interval_s: float,
        slow_timeout_s: float,
        max_clients: int,
        write_limit: int,
        heartbeat_s: float = 5.0,
        ttl_s: float = 600.0,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ):
        self.table = table
        self.stats = stats
        self.interval_s = interval_s
        self.slow_timeout_s = slow_timeout_s
        self.max_clients = max_clients
        self.write_limit = write_limit
        self.heartbeat_s = heartbeat_s
        self.ttl_s = ttl_s
        self.wall_ms = wall_ms
        self.clients: set[Client] = set()
        self._since = table.seq
        self._closing: set[asyncio.Task] = set()

    @property
    def full(self) -> bool:
        return len(self.clients) >= self.max_clients

    def connect(
        self, conn: ServerConnection, bbox: BBox | None, negotiated: Negotiated = V1, now: float = 0.0
    ) -> Client:
        """Register a client. v1: its snapshot is queued now, updates follow from its sequence on. v2:
        the hello goes now; the snapshot, tile by tile, from the next round on."""
        if negotiated.version == 1:
            client = Client(conn, self.stats, ClientView(bbox=bbox), None)
            client.post([(snapshot(self.table, client.view), True)], now)
        else:
            sub = Subscription.open(negotiated.format, bbox, self.table.seq)
            client = Client(conn, self.stats, None, sub)
            greeting = hello(
                negotiated.format, self.wall_ms(), round(self.interval_s * 1000), self.heartbeat_s, self.ttl_s
            )
            client.post([(greeting, True)], now)
        self.clients.add(client)
        self.stats.clients_accepted += 1
        self.stats.snapshots_sent += 1
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.discard(client)

    def tick(self, now: float) -> None:
        """One round: ``now`` is the loop time, for the slow-client timeout and heartbeats."""
        table = self.table
        table.prune(self.wall_ms())
        if not self.clients:
            self._since = table.seq
            table.forget_history(table.seq)
            return
        head = table.seq
        v1_tick = Tick(table, self._since) if any(c.view is not None for c in self.clients) else None
        v2_round: Round | None = None
        for client in list(self.clients):
            sub = client.sub
            if not client.behind(v1_tick, head):
                quiet = now - client.last_sent >= self.heartbeat_s
                if sub is not None and quiet and client.ready(self.write_limit):
                    client.post([(heartbeat(self.wall_ms()), True)], now)
                    self.stats.heartbeats_sent += 1
                continue
            if not client.ready(self.write_limit):
                if client.blocked_since is None:
                    client.blocked_since = now
                elif now - client.blocked_since > self.slow_timeout_s:
                    self._drop_slow(client)
                    continue
                self.stats.frames_skipped += 1
                continue
            if sub is None:
                frame = v1_tick.frame_for(client.view)
                if frame is not None:
                    client.post([(frame, True)], now)
                continue
            if v2_round is None:
                v2_round = Round(table, self._since, self.wall_ms())
            text = sub.fmt is Format.JSON
            messages = [(frame, text) for frame in v2_round.frames_for(sub)]
            if not messages and now - client.last_sent >= self.heartbeat_s:
                messages = [(heartbeat(self.wall_ms()), True)]
                self.stats.heartbeats_sent += 1
            if messages:
                client.post(messages, now)
        self._since = head
        subs = [c.sub.last_seq for c in self.clients if c.sub is not None]
        table.forget_history(min(subs, default=head))

    def _drop_slow(self, client: Client) -> None:
        self.clients.discard(client)
        self.stats.clients_dropped_slow += 1
        log.warning(
            "closing slow client",
            extra={"remote": str(client.conn.remote_address), "blocked_s": self.slow_timeout_s},
        )
        # close() waits for the handshake (bounded by the close timeout): let it run on its own.
        task = asyncio.create_task(client.conn.close(CloseCode.TRY_AGAIN_LATER, "client too slow"))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += self.interval_s
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:  # fell behind (CPU starved): skip the missed rounds instead of bursting
                next_at = loop.time()
                await asyncio.sleep(0)
            self.tick(loop.time())


async def finish_sender(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
        await task
