"""Counters served by ``/metrics`` and ``/health``, and a throttle for repetitive warnings (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    records: int = 0
    """Kafka records read (every record, good or bad)."""
    points_applied: int = 0
    points_stale: int = 0
    """Points older (event time) than the vehicle's current one: not shown."""
    lookback_skipped: int = 0
    """Start-up look-back records older than the vehicle TTL (brokers may return an earlier offset)."""
    malformed: Counter[str] = field(default_factory=Counter)
    """Records that are not contract-valid points, by kind (empty, not_json, contract)."""
    clients_accepted: int = 0
    clients_refused: int = 0
    """Connections refused because ``RELAY_MAX_CLIENTS`` were already connected."""
    clients_dropped_slow: int = 0
    snapshots_sent: int = 0
    frames_sent: int = 0
    frames_skipped: int = 0
    """Rounds in which a client had news but its previous frame was still waiting for its socket."""
    bytes_sent: int = 0
    client_messages: int = 0
    client_messages_bad: int = 0
    clients_unauthorized: int = 0
    """Handshakes refused: no accepted token and no allowed Origin (401)."""
    clients_refused_per_ip: int = 0
    """Handshakes refused: RELAY_MAX_CLIENTS_PER_IP connections already open from that address (429)."""
    client_messages_too_large: int = 0
    """Connections closed with 1009 for a message over RELAY_MAX_MESSAGE_BYTES."""
    client_handler_errors: int = 0
    """Unexpected errors while handling a client's message (the connection lives on)."""
    heartbeats_sent: int = 0
    """Protocol v2 heartbeats (sent to a client that got nothing else for RELAY_HEARTBEAT_S)."""
    clients_v2: int = 0
    """Connections that negotiated protocol v2."""
    clients_refused_loading: int = 0
    """Handshakes refused with 503 + Retry-After while the start-up look-back was being read."""
    clients_dropped_ping: int = 0
    """Connections closed because they stopped answering WebSocket pings (half-open)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "points_applied": self.points_applied,
            "points_stale": self.points_stale,
            "lookback_skipped": self.lookback_skipped,
            "records_malformed": sum(self.malformed.values()),
            "records_malformed_by_kind": dict(self.malformed),
            "clients_accepted": self.clients_accepted,
            "clients_refused": self.clients_refused,
            "clients_dropped_slow": self.clients_dropped_slow,
            "snapshots_sent": self.snapshots_sent,
            "frames_sent": self.frames_sent,
            "frames_skipped": self.frames_skipped,
            "bytes_sent": self.bytes_sent,
            "client_messages": self.client_messages,
            "client_messages_bad": self.client_messages_bad,
            "clients_unauthorized": self.clients_unauthorized,
            "clients_refused_per_ip": self.clients_refused_per_ip,
            "client_messages_too_large": self.client_messages_too_large,
            "client_handler_errors": self.client_handler_errors,
            "heartbeats_sent": self.heartbeats_sent,
            "clients_v2": self.clients_v2,
            "clients_refused_loading": self.clients_refused_loading,
            "clients_dropped_ping": self.clients_dropped_ping,
        }


class Throttle:
    """Lets the first ``burst`` events through, then one per ``interval`` seconds (log flood guard)."""

    def __init__(self, burst: int = 10, interval: float = 10.0):
        self.burst = burst
        self.interval = interval
        self.seen = 0
        self._next_at = 0.0

    def allow(self, now: float) -> bool:
        self.seen += 1
        if self.seen <= self.burst or now >= self._next_at:
            self._next_at = now + self.interval
            return True
        return False
