"""``python -m ride_producer [--count N]``: send rides until SIGTERM/SIGINT (or N records), then flush."""

from __future__ import annotations

import argparse
import logging
import sys

from geostream.health import HealthServer
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging
from ride_producer.producer import RideProducer
from ride_producer.settings import Settings

log = logging.getLogger("ride-producer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ride_producer")
    parser.add_argument("--count", type=int, help="stop after this many records (default: run until stopped)")
    args = parser.parse_args(argv)
    settings = Settings()
    setup_logging("ride-producer", settings.log_level)
    shutdown = Shutdown()
    producer = RideProducer(settings)
    health = HealthServer(settings.health_host, settings.health_port, producer.health_checks()).start()
    log.info(
        "starting",
        extra={
            "city": producer.city.name,
            "rides_per_second": settings.rides_per_second,
            "malformed_share": settings.malformed_share,
            "topic": settings.kafka_topic,
        },
    )
    try:
        producer.run(shutdown, limit=args.count)
    finally:
        undelivered = producer.close()
        health.stop()
    log.info(
        "stopped", extra={**producer.stats(), "undelivered": undelivered, "signal": shutdown.signal_name}
    )
    return 0 if undelivered == 0 and producer.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
