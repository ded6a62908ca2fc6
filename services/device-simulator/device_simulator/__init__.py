"""device-simulator: simulated vehicles publishing their positions over MQTT, with an offline queue."""
