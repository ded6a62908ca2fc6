from __future__ import annotations

from pydantic import Field, SecretStr

from geostream.settings import ServiceSettings


class Settings(ServiceSettings):
    kafka_websocket_topic: str = "websocket_updates_topic"
    kafka_group_id: str = ""
    """Prefix of this instance's Kafka client id. The relay joins no consumer group: each instance reads
    every partition itself, so all instances see every message."""
    websocket_host: str = "0.0.0.0"
    websocket_port: int = Field(8082, ge=0, le=65535)
    relay_frame_interval_ms: int = Field(100, ge=10, le=10_000)
    """How often coalesced updates go out (latest point per vehicle wins in between)."""
    relay_vehicle_ttl_s: float = Field(600, gt=0)
    """A vehicle not heard from for this long leaves the table; on start the relay reads back this far."""
    relay_max_vehicles: int = Field(200_000, ge=1)
    relay_max_clients: int = Field(2_000, ge=1)
    relay_client_write_limit_bytes: int = Field(256 * 1024, ge=1024)
    """While more than this waits to be sent to a client (asyncio's and the kernel's send buffers), its
    frames are skipped."""
    relay_slow_client_timeout_s: float = Field(10, gt=0)
    """A client that had news but could take none for this long is closed with 1013 (try again later)."""
    relay_client_sndbuf_bytes: int = Field(0, ge=0)
    """SO_SNDBUF of client sockets; 0 keeps the kernel's auto-tuning."""
    relay_max_message_bytes: int = Field(4 * 1024, ge=256)
    """Largest client message (a viewport is under 200 bytes); larger ones close the connection (1009)."""
    relay_tokens: SecretStr = SecretStr("")
    """Comma-separated tokens (``?token=`` or subprotocol ``bearer.<token>``); see ws_relay.access."""
    relay_allowed_origins: str = ""
    """Comma-separated browser origins (the map's) that may connect without a token."""
    relay_max_clients_per_ip: int = Field(20, ge=0)
    """Open connections per client address; 0 for no limit."""
    relay_compression: bool = False
    """permessage-deflate: saves bandwidth, but compresses every frame once per client (CPU)."""
    relay_fetch_max_wait_ms: int = Field(100, ge=1, le=10_000)
    relay_close_timeout_s: float = Field(5, gt=0)
    relay_ping_interval_s: float = Field(20, gt=0)
    relay_ping_timeout_s: float = Field(20, gt=0)
    relay_heartbeat_s: float = Field(5, gt=0)
    """Protocol v2: a client that got nothing else for this long gets a heartbeat frame (it reconnects
    after 3 x this without any message: a half-open connection)."""
    relay_history_limit: int = Field(200_000, ge=1_000)
    """Moves kept for v2 clients that missed rounds (20 s at 10,000 points/s, twice the slow-client
    timeout; about 25 MB); a client further behind gets removes of every changed vehicle outside its
    tiles instead."""
    relay_metadata_refresh_s: float = Field(5, gt=0)
    """How often the topic's metadata is read: broker reachability, and partitions added later."""
