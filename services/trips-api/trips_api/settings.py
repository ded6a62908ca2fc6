from __future__ import annotations

from pydantic import Field, SecretStr

from geostream.settings import ServiceSettings


class Settings(ServiceSettings):
    database_url: str = "postgresql://postgres:postgres@localhost:5432/geostream"
    database_read_url: str = ""
    """Where every query goes when set: a streaming replica of DATABASE_URL (the API only reads)."""
    api_host: str = "0.0.0.0"
    api_port: int = 8083
    cors_origins: str = "http://localhost:8080"
    """Comma-separated origins allowed to call the API from a browser (the frontend's); * for any."""
    api_tokens: SecretStr = SecretStr("")
    """Comma-separated bearer tokens (compose: INGEST_TOKEN and MAP_TOKEN); see trips_api.access."""
    api_allowed_origins: str = ""
    """Comma-separated browser origins served without a token (the map's)."""
    api_rate_per_ip: float = Field(20.0, ge=0)
    """Requests per second per client address (per worker process); 0 disables the limit."""
    api_burst_per_ip: int = Field(60, ge=1)
    db_pool_max: int = 8
    db_statement_timeout_ms: int = 15_000
    api_default_limit: int = 100
    api_max_limit: int = 1_000
    api_max_window_days: float = 31
    """Longest time window one request may ask for."""
    device_offline_after: str = "5m"
    """/api/devices/status: a device silent for longer is offline (``?offline_after=`` overrides it)."""

    @property
    def query_database_url(self) -> str:
        return self.database_read_url or self.database_url
