"""``GET /health`` and ``GET /metrics`` (Prometheus text format) of the bridge, on one small HTTP server.

The counters live in :class:`mqtt_bridge.bridge.Stats` (also logged as ``stats`` lines); a collector
turns them into Prometheus metric families at scrape time, so there is one set of counters, not two.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from geostream.health import health_status

if TYPE_CHECKING:
    from mqtt_bridge.bridge import Bridge

PREFIX = "mqtt_bridge"

COUNTERS = {
    "received": ("messages_received", "MQTT publishes received"),
    "points": ("points_accepted", "points produced to the locations topic"),
    "ignored": ("messages_ignored", "well-formed publishes without a track point (lwt, card, ...)"),
    "dead_lettered": ("dead_lettered", "records produced to the dead-letter topic"),
    "acked": ("messages_acknowledged", "PUBACKs sent after Kafka acknowledged every record of a publish"),
    "kafka_errors": ("kafka_errors", "records Kafka refused or that could not be handed to the producer"),
    "producer_replacements": ("producer_replacements", "Kafka producers replaced after a fatal error"),
    "disconnects": ("mqtt_disconnects", "MQTT connections lost"),
    "callback_errors": ("callback_errors", "unexpected errors caught in the MQTT callbacks"),
    "poller_errors": ("poller_errors", "unexpected errors caught in the Kafka poller loop"),
}


class BridgeCollector(Collector):
    def __init__(self, bridge: Bridge):
        self.bridge = bridge

    def collect(self) -> Iterator[Metric]:
        stats = self.bridge.stats
        for field, (name, doc) in COUNTERS.items():
            yield CounterMetricFamily(f"{PREFIX}_{name}", doc, value=getattr(stats, field))
        rejected = CounterMetricFamily(
            f"{PREFIX}_messages_rejected", "publishes dead-lettered, by reason", labels=["reason"]
        )
        for reason, count in sorted(stats.rejected.items()):
            rejected.add_metric([reason], count)
        yield rejected
        yield GaugeMetricFamily(
            f"{PREFIX}_in_flight",
            "publishes received and not yet acknowledged (waiting for Kafka)",
            value=self.bridge.pending(),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_oldest_in_flight_seconds",
            "age of the oldest publish waiting for Kafka",
            value=self.bridge.oldest_pending_age_s(),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_mqtt_connected",
            "1 while connected to the MQTT broker",
            value=self.bridge.mqtt_connected(),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_threads_alive",
            "1 while paho's network thread and the Kafka poller both run",
            value=self.bridge.threads_alive(),
        )


def make_registry(bridge: Bridge) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BridgeCollector(bridge))
    return registry


class StatusServer:
    """``/health`` (200 when every check passes, else 503, JSON naming each check) and ``/metrics``."""

    def __init__(
        self, host: str, port: int, checks: dict[str, Callable[[], bool]], registry: CollectorRegistry
    ):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path in ("/health", "/healthz"):
                    code, body = health_status(checks)
                    self._send(code, "application/json", orjson.dumps(body))
                elif path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
                else:
                    self._send(404, "application/json", b'{"error":"not found"}')

            def _send(self, code: int, content_type: str, payload: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="status-http", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> StatusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
