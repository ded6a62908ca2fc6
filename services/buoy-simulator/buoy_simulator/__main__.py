"""``python -m buoy_simulator``: BUOY_COUNT buoys, each sending one ndjson record per second over UDP."""

from __future__ import annotations

import logging
import random
import socket
import sys
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson
from prometheus_client import Counter

from buoy_simulator.settings import Settings
from buoy_simulator.simulation import fleet
from geostream.health import HealthServer
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging

log = logging.getLogger("buoy-simulator")

SENT = Counter("buoy_simulator_records_sent", "records sent over UDP")
SEND_FAILED = Counter("buoy_simulator_send_failed", "records the socket refused (no route, buffer full)")


def main() -> int:
    settings = Settings()
    setup_logging("buoy-simulator", settings.log_level)
    shutdown = Shutdown()
    rng = random.Random(settings.buoy_seed)
    prefix = settings.buoy_id_prefix or socket.gethostname()
    buoys = fleet(
        prefix,
        settings.buoy_count,
        settings.buoy_home_lat,
        settings.buoy_home_lon,
        settings.buoy_spread_km,
        rng,
    )
    zone = ZoneInfo(settings.buoy_timezone)
    target = (settings.udp_host, settings.udp_port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    last_send_ok = {"at": time.monotonic()}
    checks = {
        "sending": lambda: time.monotonic() - last_send_ok["at"] < max(10.0, 5 * settings.buoy_interval_s)
    }
    health = HealthServer(settings.health_host, settings.health_port, checks).start()
    log.info(
        "simulating", extra={"buoys": [b.sensor_id for b in buoys], "target": f"{target[0]}:{target[1]}"}
    )
    next_tick = time.monotonic()
    sent = 0
    try:
        while not shutdown.requested:
            now = datetime.now(UTC)
            for buoy in buoys:
                buoy.step(settings.buoy_interval_s, rng)
                payload = orjson.dumps(buoy.record(now, zone, rng, settings.buoy_send_seq))
                try:
                    sock.sendto(payload, target)
                    SENT.inc()
                    sent += 1
                    last_send_ok["at"] = time.monotonic()
                except OSError as exc:  # name not resolvable yet, ICMP refused: UDP is best effort
                    SEND_FAILED.inc()
                    log.debug("send failed", extra={"error": str(exc)})
            next_tick += settings.buoy_interval_s
            shutdown.wait(max(0.0, next_tick - time.monotonic()))
    finally:
        sock.close()
        health.stop()
    log.info("stopped", extra={"signal": shutdown.signal_name, "sent": sent})
    return 0


if __name__ == "__main__":
    sys.exit(main())
