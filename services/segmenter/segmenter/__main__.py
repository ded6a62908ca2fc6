"""``python -m segmenter``: build trajectories until SIGTERM/SIGINT (the current round finishes first)."""

from __future__ import annotations

import logging
import sys

from geostream.health import HealthServer
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging
from segmenter.service import Segmenter
from segmenter.settings import Settings

log = logging.getLogger("segmenter")


def main() -> int:
    settings = Settings()
    setup_logging("segmenter", settings.log_level)
    shutdown = Shutdown()
    segmenter = Segmenter(settings)
    checks, details = segmenter.health_checks(), segmenter.health_details
    health = HealthServer(settings.health_host, settings.health_port, checks, details=details).start()
    public = settings.model_dump(exclude={"database_url", "kafka_brokers"})
    log.info("starting", extra={"settings": public})
    try:
        segmenter.run(shutdown)
    finally:
        health.stop()
    log.info("stopped", extra={"signal": shutdown.signal_name})
    return 0


if __name__ == "__main__":
    sys.exit(main())
