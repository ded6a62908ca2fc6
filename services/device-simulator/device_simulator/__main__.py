"""``python -m device_simulator``: DEVICE_COUNT simulated vehicles until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from pathlib import Path

from device_simulator.device import Device
from device_simulator.motion import MotionConfig
from device_simulator.offline_queue import OfflineQueue
from device_simulator.settings import Settings
from geostream.health import HealthServer
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging

log = logging.getLogger("device-simulator")


def device_ids(template: str, count: int, host: str) -> list[str]:
    ids = [template.format(n=n, host=host) for n in range(1, count + 1)]
    if len(set(ids)) != len(ids):
        raise ValueError(f"DEVICE_ID_TEMPLATE {template!r} must contain {{n}}: ids are not unique")
    return ids


def build_devices(settings: Settings, wake: threading.Event) -> list[Device]:
    motion = MotionConfig(
        center_lat=settings.sim_center_lat,
        center_lon=settings.sim_center_lon,
        radius_m=settings.sim_radius_m,
    )
    queue_dir = Path(settings.queue_dir)
    queue_dir.mkdir(parents=True, exist_ok=True)
    devices = []
    for device_id in device_ids(settings.device_id_template, settings.device_count, socket.gethostname()):
        rng = (
            random.Random(f"{settings.sim_seed}:{device_id}")
            if settings.sim_seed is not None
            else random.Random()
        )
        queue = OfflineQueue(
            queue_dir / f"{device_id.replace('/', '_')}.sqlite3", settings.queue_max_messages
        )
        devices.append(Device(device_id, settings, queue, motion, rng, wake))
    return devices


def log_stats(devices: list[Device], last: dict, message: str = "stats") -> dict:
    current = {d.device_id: d.stats_dict() for d in devices}
    if current != last:
        totals = {
            k: sum(s[k] for s in current.values()) for k in ("generated", "published", "dropped", "queued")
        }
        log.info(message, extra={"devices": current, **totals})
    return current


def main() -> None:
    settings = Settings()
    setup_logging("device-simulator", settings.log_level)
    shutdown = Shutdown()
    wake = threading.Event()
    devices = build_devices(settings, wake)
    health = HealthServer(
        settings.health_host, settings.health_port, {"mqtt": lambda: all(d.connected for d in devices)}
    ).start()
    for device in devices:
        device.start()
    log.info(
        "started",
        extra={
            "devices": [d.device_id for d in devices],
            "mqtt": f"{settings.mqtt_broker_host}:{settings.mqtt_broker_port}",
            "interval_s": settings.publish_interval_s,
        },
    )
    interval = settings.publish_interval_s
    next_sample = next_stats = time.monotonic()
    last: dict = {}
    while not shutdown.requested:
        now = time.monotonic()
        if now >= next_sample:
            for device in devices:
                device.sample()
            next_sample = max(next_sample + interval, now)  # after a stall, skip instead of bursting
        for device in devices:
            device.pump()
        if now >= next_stats:
            last = log_stats(devices, last)
            next_stats = now + settings.stats_interval_s
        wake.wait(max(0.0, min(0.1, next_sample - time.monotonic())))
        wake.clear()

    log.info("shutting down: publishing what is queued", extra={"signal": shutdown.signal_name})
    deadline = time.monotonic() + settings.drain_timeout_s
    while time.monotonic() < deadline:
        for device in devices:
            device.pump()
        if all(d.idle for d in devices):
            break
        wake.wait(0.05)
        wake.clear()
    for device in devices:
        device.stop()
    log_stats(devices, {}, "stopped")
    health.stop()


if __name__ == "__main__":
    main()
