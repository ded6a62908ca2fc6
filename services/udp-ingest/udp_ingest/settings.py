from __future__ import annotations

from geostream.settings import ServiceSettings


class Settings(ServiceSettings):
    udp_host: str = "0.0.0.0"
    udp_port: int = 20001
    """UDP port for ndjson datagrams; the TCP listener (``TCP_ENABLED``) shares the number."""
    tcp_enabled: bool = True
    kafka_topic: str = "sensor_readings"
    kafka_dlq_topic: str = "sensor_readings_dlq"
    sensor_timezone: str = "UTC"
    """IANA zone in which timestamps without an offset are read (the prototype sends local naive times)."""
    max_future_s: int = 300
    """Readings further ahead of the receive time are rejected (a buoy clock gone wrong)."""
    queue_max_bytes: int = 16 * 1024 * 1024
    """Datagrams waiting for the producer thread, in bytes; beyond it new datagrams are dropped (counted)."""
    queue_max_datagrams: int = 50_000
    udp_receive_buffer_bytes: int = 4 * 1024 * 1024
    """SO_RCVBUF asked of the kernel (capped by net.core.rmem_max) to absorb bursts."""
    kafka_buffer_kbytes: int = 16_384
    """librdkafka's send buffer; when full the producer thread waits and the datagram queue absorbs it."""
    kafka_linger_ms: int = 20
    tracked_sensors: int = 100_000
    """Sensors whose last ``seq`` is remembered for gap counting (least recently seen forgotten first)."""
    health_host: str = "0.0.0.0"
    health_port: int = 8093
    shutdown_flush_s: float = 10.0
