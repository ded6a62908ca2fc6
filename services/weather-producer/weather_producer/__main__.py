"""``python -m weather_producer [--continuous] [--interval N] [--num N]``: the prototype's CLI.

Without ``--continuous`` it sends ``--num`` rounds (default 1) and exits; with it, a round every
``--interval`` seconds until SIGINT/SIGTERM, which end the current round, flush Kafka and exit 0.
"""

from __future__ import annotations

import argparse
import logging
import sys

from geostream.health import HealthServer
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging
from weather_producer.producer import WeatherProducer
from weather_producer.settings import Settings

log = logging.getLogger("weather-producer")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m weather_producer")
    parser.add_argument("--continuous", action="store_true", help="run until stopped")
    parser.add_argument("--interval", type=float, help="seconds between rounds (WEATHER_INTERVAL_S)")
    parser.add_argument("--num", type=int, default=1, help="rounds to send without --continuous")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings()
    setup_logging("weather-producer", settings.log_level)
    shutdown = Shutdown()
    producer = WeatherProducer(settings)
    health = HealthServer(settings.health_host, settings.health_port, producer.health_checks()).start()
    interval = args.interval if args.interval is not None else settings.weather_interval_s
    rounds = 0
    try:
        while not shutdown.requested:
            producer.send_round()
            rounds += 1
            if not args.continuous and rounds >= args.num:
                break
            shutdown.wait(interval)
    finally:
        producer.close()
        health.stop()
    log.info("stopped", extra={"rounds": rounds, **producer.stats.as_dict()})
    return 0 if producer.stats.failed == 0 or args.continuous else 1


if __name__ == "__main__":
    sys.exit(main())
