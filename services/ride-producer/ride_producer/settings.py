from __future__ import annotations

from pydantic import Field

from geostream.settings import ServiceSettings
from geostream.topics import RIDES_RAW


class Settings(ServiceSettings):
    kafka_topic: str = RIDES_RAW.name
    ride_city: str = "new-york"
    """One of ride_producer.city.CITIES."""
    rides_per_second: float = Field(5.0, gt=0)
    malformed_share: float = Field(0.0, ge=0, le=1)
    """Share of records deliberately broken (invalid JSON, missing field, out of range, wrong type)."""
    ride_seed: int | None = None
    health_host: str = "0.0.0.0"
    health_port: int = Field(8094, ge=0, le=65535)
    delivery_timeout_s: float = Field(10.0, gt=0)
