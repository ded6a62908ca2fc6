from __future__ import annotations

from pydantic import SecretStr

from geostream.settings import ServiceSettings


class Settings(ServiceSettings):
    mqtt_broker_host: str = "localhost"
    mqtt_broker_port: int = 1883
    mqtt_username: str = ""
    mqtt_password: SecretStr = SecretStr("")
    mqtt_keepalive_s: int = 30
    mqtt_reconnect_min_s: int = 1
    mqtt_reconnect_max_s: int = 30
    device_count: int = 10
    device_id_template: str = "vehicle_{n:02d}"
    """``{n}`` is the device number (1..DEVICE_COUNT), ``{host}`` the host name (unique per container)."""
    publish_interval_s: float = 1.0
    queue_dir: str = "queues"
    queue_max_messages: int = 10_000
    """Per device; when full, the oldest waiting message is dropped (and counted)."""
    sim_center_lat: float = 48.8566
    sim_center_lon: float = 2.3522
    sim_radius_m: float = 5000.0
    sim_seed: int | None = None
    """Fixes the routes and the noise (per device), for reproducible runs."""
    health_host: str = "0.0.0.0"
    health_port: int = 8091
    stats_interval_s: float = 30.0
    drain_timeout_s: float = 5.0
    """On SIGTERM: how long to keep publishing what is queued; the rest stays queued for the next start."""
