"""The WebSocket endpoint, plus ``GET /health`` and ``GET /metrics`` on the same port.

Plain HTTP requests for ``/health`` and ``/metrics`` are answered during the opening handshake
(websockets' ``process_request``); every other path upgrades to the live feed. A client may pass its
first viewport in the URL, ``ws://host:8082/?bbox=minLon,minLat,maxLon,maxLat``, so its snapshot is
already filtered.
"""

from __future__ import annotations

import asyncio
import http
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from geostream.health import health_status
from ws_relay.geo import BBoxError, bbox_from_path
from ws_relay.hub import Hub, finish_sender
from ws_relay.kafka_source import KafkaSource
from ws_relay.protocol import ClientMessageError, error_frame, parse_client_message
from ws_relay.settings import Settings
from ws_relay.stats import Stats
from ws_relay.table import LatestTable

log = logging.getLogger("ws-relay.server")


def json_response(conn: ServerConnection, status: int, body: dict[str, Any]) -> Response:
    response = conn.respond(status, orjson.dumps(body).decode() + "\n")
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    response.headers["Cache-Control"] = "no-store"
    return response


class Relay:
    def __init__(
        self,
        settings: Settings,
        table: LatestTable,
        stats: Stats,
        hub: Hub,
        source: KafkaSource,
        instance_id: str,
    ):
        self.settings = settings
        self.table = table
        self.stats = stats
        self.hub = hub
        self.source = source
        self.instance_id = instance_id
        self.started = time.monotonic()

    def health(self) -> tuple[int, dict[str, Any]]:
        status, body = health_status(
            {"kafka": lambda: self.source.connected, "lookback": lambda: self.source.caught_up}
        )
        body.update(
            instance=self.instance_id,
            clients=len(self.hub.clients),
            vehicles=len(self.table),
            records_malformed=sum(self.stats.malformed.values()),
        )
        return status, body

    def metrics(self) -> dict[str, Any]:
        return {
            "instance": self.instance_id,
            "uptime_s": round(time.monotonic() - self.started, 3),
            "kafka_connected": self.source.connected,
            "lookback_loaded": self.source.caught_up,
            "clients": len(self.hub.clients),
            "vehicles": len(self.table),
            "vehicles_evicted": self.table.evicted,
            "offsets": {str(tp.partition): offset for tp, offset in sorted(self.source.next_offsets.items())},
            **self.stats.as_dict(),
        }

    def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path in ("/health", "/healthz"):
            return json_response(conn, *self.health())
        if path == "/metrics":
            return json_response(conn, 200, self.metrics())
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return json_response(conn, 404, {"error": f"no such resource: {path}; connect with WebSocket"})
        if self.hub.full:
            self.stats.clients_refused += 1
            return conn.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "Too many clients; try again later.\n")
        try:
            bbox_from_path(request.path)
        except BBoxError as exc:
            return conn.respond(http.HTTPStatus.BAD_REQUEST, f"{exc}\n")
        if self.settings.relay_client_sndbuf_bytes:
            sock = conn.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.settings.relay_client_sndbuf_bytes)
        return None

    async def handler(self, conn: ServerConnection) -> None:
        client = self.hub.connect(conn, bbox_from_path(conn.request.path))
        sender = asyncio.create_task(client.run_sender(), name="ws-sender")
        remote = ":".join(map(str, conn.remote_address or ()))
        log.info("client connected", extra={"remote": remote, "clients": len(self.hub.clients)})
        try:
            async for message in conn:
                self.stats.client_messages += 1
                try:
                    request = parse_client_message(message)
                except ClientMessageError as exc:
                    self.stats.client_messages_bad += 1
                    await conn.send(error_frame(str(exc)), text=True)
                    continue
                client.view.set_viewport(request.bbox)
        except ConnectionClosed:
            pass
        finally:
            self.hub.disconnect(client)
            await finish_sender(sender)
            log.info(
                "client left",
                extra={"remote": remote, "code": conn.close_code, "clients": len(self.hub.clients)},
            )
