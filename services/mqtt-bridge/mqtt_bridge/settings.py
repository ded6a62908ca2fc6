from __future__ import annotations

from pydantic import SecretStr

from geostream.settings import ServiceSettings
from geostream.timestamps import DEFAULT_MAX_FUTURE_MS


class Settings(ServiceSettings):
    kafka_topic: str = "locations_topic"
    kafka_dlq_topic: str = "locations_dlq"
    mqtt_broker_host: str = "localhost"
    mqtt_broker_port: int = 1883
    mqtt_topic_filters: str = "owntracks/+/+,devices/+/location"
    mqtt_client_id: str = "mqtt-kafka-bridge"
    mqtt_username: str = ""
    mqtt_password: SecretStr = SecretStr("")
    mqtt_keepalive_s: int = 30
    mqtt_session_expiry_s: int = 7 * 24 * 3600
    """How long the broker keeps the bridge's session (and queues its messages) while it is away."""
    mqtt_receive_maximum: int = 1000
    """Messages the broker may have in flight to the bridge, unacknowledged: bounds the bridge's memory."""
    mqtt_shared_group: str = ""
    """When set, subscribe as ``$share/<group>/<filter>`` so that several replicas split the load."""
    mqtt_reconnect_min_s: int = 1
    mqtt_reconnect_max_s: int = 30
    owntracks_secret: SecretStr | None = None
    """OwnTracks payload-encryption secret; without it encrypted messages are acknowledged and ignored."""
    ingest_max_future_s: int = DEFAULT_MAX_FUTURE_MS // 1000
    """Points further ahead of the bridge's clock are dead-lettered (the platform's window)."""
    ingest_min_timestamp: str = "2000-01-01T00:00:00Z"
    """Points dated before this (ISO 8601 or epoch) are dead-lettered."""
    dlq_max_original_bytes: int = 256 * 1024
    mqtt_max_payload_bytes: int = 64 * 1024
    """Larger publishes are dead-lettered (truncated); Mosquitto's message_size_limit should match."""
    health_max_pending_age_s: float = 120.0
    """/health is 503 while a publish has waited longer than this for Kafka (a producer that cannot
    deliver)."""
    health_host: str = "0.0.0.0"
    health_port: int = 8090
    stats_interval_s: float = 30.0
    drain_timeout_s: float = 10.0
    """On SIGTERM: how long to wait for Kafka to acknowledge what was received before disconnecting."""
