from __future__ import annotations

from pydantic import SecretStr

from geostream.settings import ServiceSettings


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
    ingest_max_future_s: int = 24 * 3600
    dlq_max_original_bytes: int = 256 * 1024
    health_host: str = "0.0.0.0"
    health_port: int = 8090
    stats_interval_s: float = 30.0
    drain_timeout_s: float = 10.0
    """On SIGTERM: how long to wait for Kafka to acknowledge what was received before disconnecting."""
