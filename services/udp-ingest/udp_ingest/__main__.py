"""``python -m udp_ingest``: UDP/TCP ndjson buoy readings -> Kafka ``sensor_readings``, until SIGTERM."""

from __future__ import annotations

import logging
import sys

from geostream.health import HealthServer
from geostream.kafka import ensure_topics, wait_for_broker
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging
from geostream.topics import BY_NAME
from udp_ingest.service import UdpIngest
from udp_ingest.settings import Settings

log = logging.getLogger("udp-ingest")


def main() -> int:
    settings = Settings()
    setup_logging("udp-ingest", settings.log_level)
    shutdown = Shutdown()
    wait_for_broker(settings.kafka_brokers, timeout=120)
    topics = [BY_NAME[name] for name in (settings.kafka_topic, settings.kafka_dlq_topic) if name in BY_NAME]
    ensure_topics(settings.kafka_brokers, topics)
    ingest = UdpIngest(settings).start()
    health = HealthServer(settings.health_host, settings.health_port, ingest.health_checks()).start()
    try:
        shutdown.wait()
    finally:
        left = ingest.stop()
        health.stop()
    log.info("stopped", extra={"signal": shutdown.signal_name, "undelivered": left})
    return 0 if left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
