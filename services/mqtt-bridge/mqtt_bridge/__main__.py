"""``python -m mqtt_bridge``: run until SIGTERM/SIGINT, then drain and exit 0."""

from __future__ import annotations

from geostream.health import HealthServer
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging
from mqtt_bridge.bridge import Bridge
from mqtt_bridge.settings import Settings
from mqtt_bridge.status import make_registry


def main() -> None:
    settings = Settings()
    log = setup_logging("mqtt-bridge", settings.log_level)
    shutdown = Shutdown()
    bridge = Bridge(settings)
    health = HealthServer(
        settings.health_host, settings.health_port, bridge.health_checks(), make_registry(bridge)
    ).start()
    bridge.start()
    log.info(
        "started",
        extra={
            "mqtt": f"{settings.mqtt_broker_host}:{settings.mqtt_broker_port}",
            "filters": settings.mqtt_topic_filters,
            "client_id": settings.mqtt_client_id,
            "kafka_topic": settings.kafka_topic,
            "health_port": health.port,
        },
    )
    while not shutdown.wait(settings.stats_interval_s):
        bridge.log_stats()
    log.info("shutting down", extra={"signal": shutdown.signal_name})
    bridge.stop()
    health.stop()


if __name__ == "__main__":
    main()
