"""The WebSocket endpoint, plus ``GET /health`` and ``GET /metrics`` on the same port.

Plain HTTP requests for ``/health`` and ``/metrics`` are answered during the opening handshake
(websockets' ``process_request``); every other path upgrades to the live feed, once the start-up
look-back has been read (503 with ``Retry-After`` before). A client may pass its first viewport in the
URL, ``ws://host:8082/?bbox=minLon,minLat,maxLon,maxLat``, so its snapshot is already filtered, and ask
for protocol v2 with ``?v=2&format=bin|json`` (:mod:`ws_relay.protocol_v2`).
"""

from __future__ import annotations

import asyncio
import http
import logging
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from geostream.access import parse_list
from geostream.health import health_status
from ws_relay.access import AccessPolicy, ConnectionsPerAddress, query_token, subprotocol_token
from ws_relay.geo import BBoxError, bbox_from_path
from ws_relay.hub import Hub, finish_sender
from ws_relay.kafka_source import KafkaSource
from ws_relay.protocol import ClientMessageError, error_frame, parse_client_message
from ws_relay.protocol_v2 import NegotiationError, negotiate
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


GAUGES = frozenset(
    {"uptime_s", "kafka_connected", "lookback_loaded", "clients", "vehicles", "history_moves", "partitions"}
)
RETRY_AFTER_S = 2
PING_TIMEOUT_REASON = "keepalive ping timeout"
"""The close reason websockets gives a connection that stopped answering pings."""


class RelayCollector(Collector):
    """The ``/metrics`` numbers in Prometheus' text format (asked for with ``Accept: text/plain``, as
    Prometheus does, or ``?format=prometheus``); the JSON document stays the default."""

    def __init__(self, relay: Relay):
        self.relay = relay

    def collect(self) -> Iterator[Metric]:
        for name, value in self.relay.metrics().items():
            if isinstance(value, int | float):  # bools too (True = 1)
                family = GaugeMetricFamily if name in GAUGES else CounterMetricFamily
                yield family(f"ws_relay_{name}", name.replace("_", " "), value=float(value))
        malformed = CounterMetricFamily(
            "ws_relay_records_malformed_by_kind", "malformed Kafka records by kind", labels=["kind"]
        )
        for kind, count in sorted(self.relay.stats.malformed.items()):
            malformed.add_metric([kind], count)
        yield malformed
        # Named and labelled like any consumer's lag, so one dashboard panel sums them all.
        lag = GaugeMetricFamily(
            "kafka_consumer_lag",
            "records behind the end of each partition read (high watermark minus next offset)",
            labels=["consumer", "topic", "partition"],
        )
        for partition, behind in self.relay.source.lag().items():
            lag.add_metric(["ws-relay", self.relay.source.topic, str(partition)], behind)
        yield lag


def wants_prometheus(request: Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "format=prometheus" in (urlsplit(request.path).query or "") or (
        "text/plain" in accept or "openmetrics" in accept
    )


def client_address(conn: ServerConnection) -> str:
    remote = conn.remote_address
    return str(remote[0]) if remote else "-"


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
        self.policy = AccessPolicy(
            parse_list(settings.relay_tokens.get_secret_value()), parse_list(settings.relay_allowed_origins)
        )
        self.per_address = ConnectionsPerAddress(settings.relay_max_clients_per_ip)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(RelayCollector(self))
        if self.policy.open:
            log.warning("no RELAY_TOKENS and no RELAY_ALLOWED_ORIGINS: the live feed is open to anyone")

    def health(self) -> tuple[int, dict[str, Any]]:
        status, body = health_status(
            {"kafka": lambda: self.source.connected, "lookback": lambda: self.source.caught_up}
        )
        if body["checks"] == {"kafka": "up", "lookback": "down"}:
            body["status"] = "loading"  # clients are refused (503, Retry-After) until the look-back is read
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
            "history_moves": self.table.history_size(),
            "partitions": len(self.source.next_offsets),
            "offsets": {str(tp.partition): offset for tp, offset in sorted(self.source.next_offsets.items())},
            **self.stats.as_dict(),
        }

    def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path in ("/health", "/healthz"):
            return json_response(conn, *self.health())
        if path == "/metrics":
            if wants_prometheus(request):
                response = conn.respond(http.HTTPStatus.OK, generate_latest(self.registry).decode())
                del response.headers["Content-Type"]
                response.headers["Content-Type"] = CONTENT_TYPE_LATEST
                return response
            return json_response(conn, 200, self.metrics())
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return json_response(conn, 404, {"error": f"no such resource: {path}; connect with WebSocket"})
        offered = [p.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",")]
        presented = subprotocol_token(offered)
        tokens = [query_token(request.path), presented[1] if presented else None]
        if not self.policy.allows(tokens, request.headers.get("Origin")):
            self.stats.clients_unauthorized += 1
            return conn.respond(http.HTTPStatus.UNAUTHORIZED, "A token or an allowed Origin is required.\n")
        if self.per_address.full(client_address(conn)):
            self.stats.clients_refused_per_ip += 1
            return conn.respond(
                http.HTTPStatus.TOO_MANY_REQUESTS, "Too many connections from this address.\n"
            )
        if self.hub.full:
            self.stats.clients_refused += 1
            return conn.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "Too many clients; try again later.\n")
        if not self.source.caught_up:
            # A map connecting now would get an empty or partial snapshot: ask it to come back.
            self.stats.clients_refused_loading += 1
            response = conn.respond(
                http.HTTPStatus.SERVICE_UNAVAILABLE, "Loading the latest positions; try again shortly.\n"
            )
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        try:
            bbox_from_path(request.path)
            negotiate(request.path)
        except (BBoxError, NegotiationError) as exc:
            return conn.respond(http.HTTPStatus.BAD_REQUEST, f"{exc}\n")
        if self.settings.relay_client_sndbuf_bytes:
            sock = conn.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.settings.relay_client_sndbuf_bytes)
        return None

    def select_subprotocol(
        self, _conn: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        """Answer with the ``bearer.<token>`` subprotocol a browser offered (it fails the connection
        otherwise); the token itself was checked in :meth:`process_request`."""
        presented = subprotocol_token(offered)
        return Subprotocol(presented[0]) if presented else None

    async def handler(self, conn: ServerConnection) -> None:
        address = client_address(conn)
        self.per_address.opened(address)
        try:
            await self._serve(conn)
        finally:
            self.per_address.closed(address)

    async def _serve(self, conn: ServerConnection) -> None:
        negotiated = negotiate(conn.request.path)
        client = self.hub.connect(
            conn, bbox_from_path(conn.request.path), negotiated, asyncio.get_running_loop().time()
        )
        if negotiated.version == 2:
            self.stats.clients_v2 += 1
        sender = asyncio.create_task(client.run_sender(), name="ws-sender")
        remote = ":".join(map(str, conn.remote_address or ()))
        log.info("client connected", extra={"remote": remote, "clients": len(self.hub.clients)})
        try:
            async for message in conn:
                self.stats.client_messages += 1
                try:
                    request = parse_client_message(message)
                    if client.sub is not None:
                        client.sub.set_viewport(request.bbox, request.zoom)
                    else:
                        client.view.set_viewport(request.bbox)
                except ClientMessageError as exc:
                    self.stats.client_messages_bad += 1
                    await conn.send(error_frame(str(exc)), text=True)
                except ConnectionClosed:
                    raise
                except Exception:
                    # Whatever a client sends, its connection and every other one live on.
                    self.stats.client_messages_bad += 1
                    self.stats.client_handler_errors += 1
                    log.exception("unexpected error handling a client message", extra={"remote": remote})
                    await conn.send(error_frame("message could not be handled"), text=True)
        except ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
                self.stats.client_messages_too_large += 1
            elif exc.sent is not None and exc.sent.reason == PING_TIMEOUT_REASON:
                self.stats.clients_dropped_ping += 1
        finally:
            self.hub.disconnect(client)
            await finish_sender(sender)
            log.info(
                "client left",
                extra={"remote": remote, "code": conn.close_code, "clients": len(self.hub.clients)},
            )
