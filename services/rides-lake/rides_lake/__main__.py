"""``python -m rides_lake``: write rides_result to the Parquet lake until SIGTERM/SIGINT, then flush."""

from __future__ import annotations

import logging
import sys

from geostream.health import HealthServer
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging
from rides_lake.service import LakeService
from rides_lake.settings import Settings

log = logging.getLogger("rides-lake")


def main() -> int:
    settings = Settings()
    setup_logging("rides-lake", settings.log_level)
    shutdown = Shutdown()
    service = LakeService(settings)
    health = HealthServer(settings.health_host, settings.health_port, service.health_checks()).start()
    log.info(
        "starting",
        extra={"root": settings.lake_root, "prefix": settings.lake_prefix, "topic": settings.kafka_topic},
    )
    try:
        service.run(shutdown)
    finally:
        health.stop()
    log.info("stopped", extra={"files": service.writer.files_written, "signal": shutdown.signal_name})
    return 0


if __name__ == "__main__":
    sys.exit(main())
