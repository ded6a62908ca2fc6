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
from ws_relay.stats import Stats
from ws_relay.table import LatestTable

log = logging.getLogger("ws-relay.hub")

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


class Client:
    __slots__ = ("blocked_since", "conn", "outbox", "sending", "sock", "stats", "view", "wake")

    def __init__(self, conn: ServerConnection, view: ClientView, stats: Stats):
        self.conn = conn
        self.view = view
        self.stats = stats
        self.sock = conn.transport.get_extra_info("socket")
        self.outbox: Frame | None = None
        self.sending = False
        self.blocked_since: float | None = None
        """Loop time of the first round in which this client had news but could not take it."""
        self.wake = asyncio.Event()

    def backlog(self) -> int:
        """Bytes written for this client and not yet sent: asyncio's buffer plus the kernel's."""
        return self.conn.transport.get_write_buffer_size() + kernel_unsent(self.sock)

    def ready(self, write_limit: int) -> bool:
        return self.outbox is None and not self.sending and self.backlog() <= write_limit

    def post(self, frame: Frame) -> None:
        self.outbox = frame
        self.blocked_since = None
        self.wake.set()

    async def run_sender(self) -> None:
        """Writes posted frames; ends with ConnectionClosed when the connection goes."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            frame, self.outbox = self.outbox, None
            if frame is None:
                continue
            self.sending = True
            if isinstance(frame, LazyFrame):
                await self.conn.send(frame.fragments(), text=True)
            else:
                await self.conn.send(frame, text=True)
            self.sending = False
            self.stats.frames_sent += 1
            self.stats.bytes_sent += len(frame)


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
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ):
        self.table = table
        self.stats = stats
        self.interval_s = interval_s
        self.slow_timeout_s = slow_timeout_s
        self.max_clients = max_clients
        self.write_limit = write_limit
        self.wall_ms = wall_ms
        self.clients: set[Client] = set()
        self._since = table.seq
        self._closing: set[asyncio.Task] = set()

    @property
    def full(self) -> bool:
        return len(self.clients) >= self.max_clients

    def connect(self, conn: ServerConnection, bbox: BBox | None) -> Client:
        """Register a client and queue its snapshot; updates follow from the snapshot's sequence on."""
        client = Client(conn, ClientView(bbox=bbox), self.stats)
        client.post(snapshot(self.table, client.view))
        self.clients.add(client)
        self.stats.clients_accepted += 1
        self.stats.snapshots_sent += 1
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.discard(client)

    def tick(self, now: float) -> None:
        """One round: ``now`` is the loop time, for the slow-client timeout."""
        self.table.prune(self.wall_ms())
        if not self.clients:
            self._since = self.table.seq
            return
        tick = Tick(self.table, self._since)
        for client in list(self.clients):
            if not tick.behind(client.view):
                continue
            if not client.ready(self.write_limit):
                if client.blocked_since is None:
                    client.blocked_since = now
                elif now - client.blocked_since > self.slow_timeout_s:
                    self._drop_slow(client)
                    continue
                self.stats.frames_skipped += 1
                continue
            frame = tick.frame_for(client.view)
            if frame is not None:
                client.post(frame)
        self._since = tick.head

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
