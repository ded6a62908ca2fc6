from __future__ import annotations

from pydantic import SecretStr, field_validator

from geostream.settings import ServiceSettings
from geostream.timestamps import DEFAULT_MAX_FUTURE_MS, DEFAULT_MIN_TS_MS, TimestampError, to_epoch_ms


class Settings(ServiceSettings):
    kafka_topic: str = "locations_topic"
    flask_host: str = "0.0.0.0"
    flask_port: int = 5000
    ingest_max_body_bytes: int = 10 * 1024 * 1024
    """Larger bodies of ``POST /ingest/location`` get 413 before they are read."""
    ingest_max_phone_body_bytes: int = 64 * 1024
    """Larger bodies on the phone-app endpoints (one OwnTracks/OsmAnd message each) get 413."""
    ingest_max_points: int = 100_000
    """Points in one request; more get 400."""
    ingest_max_future_s: int = DEFAULT_MAX_FUTURE_MS // 1000
    """Points timestamped further ahead of the receive time are refused (clock bugs, unit mistakes)."""
    ingest_min_timestamp: str = "2000-01-01T00:00:00Z"
    """Points timestamped before this (ISO 8601, or epoch s/ms/us/ns) are refused; epoch 0 never passes."""
    ingest_delivery_timeout_s: float = 10.0
    """How long a request waits for Kafka to acknowledge every point before answering 503."""
    ingest_retry_after_s: int = 5
    ingest_tokens: SecretStr | None = None
    """``token[:vehicle-id-prefix],...``: when set (or INGEST_TOKEN), ``/ingest/location`` and the OsmAnd
    endpoints need ``Authorization: Bearer <token>`` (OsmAnd also ``?token=``); a token with a prefix may
    only send vehicle ids that start with it."""
    ingest_token: SecretStr | None = None
    """One more token without a prefix (what ``make local`` generates)."""
    osmand_allow_get: bool = False
    """Accept the OsmAnd protocol's GET form (a GET that writes); off unless enabled."""
    health_delivery_window_s: float = 30.0
    """/health is 503 while the latest delivery, within this window, failed and none succeeded since."""

    @field_validator("ingest_min_timestamp")
    @classmethod
    def _valid_floor(cls, value: str) -> str:
        try:
            to_epoch_ms(value)
        except TimestampError as exc:
            raise ValueError(f"INGEST_MIN_TIMESTAMP: {exc}") from None
        return value

    @property
    def min_ts_ms(self) -> int:
        return (
            max(to_epoch_ms(self.ingest_min_timestamp), 1) if self.ingest_min_timestamp else DEFAULT_MIN_TS_MS
        )

    @property
    def max_future_ms(self) -> int:
        return self.ingest_max_future_s * 1000
