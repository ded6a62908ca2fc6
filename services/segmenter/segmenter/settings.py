from __future__ import annotations

from pydantic import Field

from geostream.settings import ServiceSettings


class Settings(ServiceSettings):
    database_url: str = "postgresql://postgres:postgres@localhost:5432/geostream"
    """libpq URL; PGUSER / PGPASSWORD fill in what it leaves out (compose)."""
    segmenter_interval_s: float = Field(1.0, gt=0)
    """Pause between rounds while the queue is not backlogged: the bound on segment freshness."""
    segmenter_batch_rows: int = Field(50_000, ge=1)
    """Queue rows (trajectory_dirty) claimed per round; a full round is followed by the next at once."""
    retention_days: int = Field(0, ge=0)
    """Day partitions older than this many days are dropped (points and segments); 0 keeps everything."""
    partitions_ahead_days: int = Field(3, ge=1)
    """Day partitions created ahead of today."""
    maintenance_interval_s: float = Field(60.0, gt=0)
    """How often partitions are created ahead, old backfills moved out of the default partitions and
    retention applied."""
    drop_lock_timeout_ms: int = Field(2_000, ge=1)
    """DROP of an expired partition waits at most this long for its lock (then it is retried at the next
    maintenance), so writers queued behind it wait no longer than that."""
    statement_timeout_ms: int = Field(300_000, ge=1_000)
    health_host: str = "0.0.0.0"
    health_port: int = Field(8100, ge=0, le=65535)
    health_max_queue_age_s: float = Field(300.0, gt=0)
    """/health answers 503 when the oldest queued change waits longer than this (it is behind)."""
