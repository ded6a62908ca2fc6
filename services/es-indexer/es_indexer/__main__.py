"""``python -m es_indexer``: Kafka topics -> Elasticsearch data streams, until SIGTERM."""

from __future__ import annotations

import logging
import sys

from es_indexer.indexer import Indexer
from es_indexer.settings import Settings
from geostream.health import HealthServer
from geostream.kafka import wait_for_broker
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging

log = logging.getLogger("es-indexer")


def main() -> int:
    settings = Settings()
    setup_logging("es-indexer", settings.log_level)
    shutdown = Shutdown()
    wait_for_broker(settings.kafka_brokers, timeout=120)
    indexer = Indexer(settings, shutdown)
    health = HealthServer(settings.health_host, settings.health_port, indexer.health_checks()).start()
    try:
        indexer.run()
    finally:
        indexer.close()
        health.stop()
    log.info("stopped", extra={"signal": shutdown.signal_name})
    return 0


if __name__ == "__main__":
    sys.exit(main())
