from __future__ import annotations

from geostream.settings import ServiceSettings


class Settings(ServiceSettings):
    kafka_topic: str = "locations_topic"
    flask_host: str = "0.0.0.0"
    flask_port: int = 5000
    ingest_max_body_bytes: int = 10 * 1024 * 1024
    """Larger bodies get 413 before they are read."""
    ingest_max_points: int = 100_000
    """Points in one request; more get 400."""
    ingest_max_future_s: int = 24 * 3600
    """Points timestamped further in the future than this are refused (clock bugs, unit mistakes)."""
    ingest_delivery_timeout_s: float = 10.0
    """How long a request waits for Kafka to acknowledge every point before answering 503."""
    ingest_retry_after_s: int = 5
