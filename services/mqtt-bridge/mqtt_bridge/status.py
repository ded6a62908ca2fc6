"""The bridge's Prometheus metrics, served with ``/health`` by :class:`geostream.health.HealthServer`.

The counters live in :class:`mqtt_bridge.bridge.Stats` (also logged as ``stats`` lines); a collector
turns them into Prometheus metric families at scrape time, so there is one set of counters, not two.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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
