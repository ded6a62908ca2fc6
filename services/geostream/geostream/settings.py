"""Typed settings from environment variables.

Each service declares one ``Settings`` class deriving from :class:`ServiceSettings`; a field ``foo_bar``
reads the variable ``FOO_BAR`` (the prototypes' names, e.g. ``KAFKA_BROKERS``, ``FLASK_PORT``).
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    kafka_brokers: str = "localhost:9092"
    log_level: str = "INFO"
