from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from geostream.settings import ServiceSettings


class Settings(ServiceSettings):
    elasticsearch_url: str = "http://localhost:9200"
    elasticsearch_username: str = "elastic"
    elasticsearch_password: SecretStr = SecretStr("")
    """Empty: no authentication (a cluster with security off)."""
    elasticsearch_ca_certs: str = ""
    """PEM file to verify an HTTPS cluster with; empty uses the system's CAs."""
    elasticsearch_request_timeout_s: float = 30.0
    indexer_topics: str = "sensor_readings,rides_result"
    """Comma-separated topics to index; each must have a target in ``es_indexer.targets``. All of them
    are consumed in the one group ``indexer_group_id``."""
    indexer_group_id: str = "es-indexer"
    batch_max_docs: int = 2000
    batch_max_bytes: int = 5 * 1024 * 1024
    batch_max_wait_s: float = 1.0
    """A batch is sent when it holds ``batch_max_docs`` records or ``batch_max_bytes``, or this long after
    its first record arrived, whichever comes first."""
    retry_initial_s: float = 0.5
    retry_max_s: float = 30.0
    ilm: Literal["auto", "on", "off"] = "auto"
    """Index lifecycle management: ``auto`` installs the policy when the cluster has ILM."""
    sensor_retention_days: int = 30
    """Readings older than this are deleted by the ILM policy."""
    sensor_rollover_max_age: str = "1d"
    sensor_rollover_max_primary_shard_size: str = "10gb"
    index_replicas: int = 0
    """Replicas per backing index: 0 for the single-node cluster of compose."""
    health_host: str = "0.0.0.0"
    health_port: int = 8097
    dlq_timeout_s: float = 10.0
