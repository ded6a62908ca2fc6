from __future__ import annotations

from pydantic import Field

from geostream.settings import ServiceSettings
from geostream.topics import RIDES_RESULT


class Settings(ServiceSettings):
    kafka_topic: str = RIDES_RESULT.name
    kafka_group_id: str = "rides-lake"
    lake_root: str = "./lake"
    """A local directory or any pyarrow filesystem URI (file:///..., s3://bucket/path, gs://bucket/path)."""
    lake_prefix: str = "rides"
    lake_roll_rows: int = Field(50_000, ge=1)
    """Rows buffered (all partitions) before the files are written: bounds memory."""
    lake_roll_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    """Approximate bytes of the buffered records (their JSON size) before the files are written."""
    lake_roll_interval_s: float = Field(60.0, gt=0)
    """The oldest buffered record waits at most this long."""
    health_host: str = "0.0.0.0"
    health_port: int = Field(8095, ge=0, le=65535)
