from __future__ import annotations

from geostream.settings import ServiceSettings


class Settings(ServiceSettings):
    udp_host: str = "localhost"
    udp_port: int = 20001
    buoy_count: int = 2
    """Buoys simulated by this process (each sends one record per ``buoy_interval_s``)."""
    buoy_id_prefix: str = ""
    """Sensor ids are ``<prefix>-<n>``; empty uses the host name, so ``--scale`` replicas never collide."""
    buoy_home_lat: float = 42.4800
    buoy_home_lon: float = 3.1450
    """Default: the bay of Banyuls-sur-Mer, off the Oceanographic Observatory."""
    buoy_spread_km: float = 3.0
    """Homes are spread this far around the home position; each buoy drifts around its own home."""
    buoy_interval_s: float = 1.0
    buoy_timezone: str = "UTC"
    """Zone of the naive timestamps sent (the prototype's format has no offset; udp-ingest's
    SENSOR_TIMEZONE must be the same)."""
    buoy_send_seq: bool = True
    """Add a per-buoy ``seq`` so udp-ingest can count lost datagrams."""
    buoy_seed: int | None = None
    health_host: str = "0.0.0.0"
    health_port: int = 8098
