"""mqtt-bridge: MQTT (OwnTracks and device JSON) -> Kafka ``locations_topic``, acknowledged end to end."""
