"""Which mapper reads a publish and which vehicle its topic names (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass

from geostream.sources import Mapped, RejectError, custom, ignored, owntracks, parse_payload
from geostream.timestamps import DEFAULT_MIN_TS_MS


@dataclass(frozen=True)
class TopicFilter:
    text: str
    levels: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> TopicFilter:
        text = text.strip()
        levels = tuple(text.split("/"))
        if not text or text.startswith("$share/"):
            raise ValueError(f"invalid MQTT topic filter {text!r} (use MQTT_SHARED_GROUP for $share)")
        for i, level in enumerate(levels):
            if ("#" in level and (level != "#" or i != len(levels) - 1)) or ("+" in level and level != "+"):
                raise ValueError(f"invalid MQTT topic filter {text!r}")
        return cls(text, levels)

    def captures(self, topic: str) -> tuple[str, ...] | None:
        """The topic levels matched by ``+`` (in order), or None when the topic does not match."""
        parts = topic.split("/")
        captured = []
        for i, level in enumerate(self.levels):
            if level == "#":
                return tuple(captured)
            if i >= len(parts):
                return None
            if level == "+":
                captured.append(parts[i])
            elif level != parts[i]:
                return None
        return tuple(captured) if len(parts) == len(self.levels) else None


def parse_filters(spec: str) -> list[TopicFilter]:
    filters = [TopicFilter.parse(text) for text in spec.split(",") if text.strip()]
    if not filters:
        raise ValueError("MQTT_TOPIC_FILTERS names no topic filter")
    return filters


def topic_vehicle_id(filters: list[TopicFilter], topic: str) -> str | None:
    """The levels a matching filter's ``+`` wildcards captured, joined by ``/``: ``devices/+/location``
    names ``<id>``, ``owntracks/+/+`` names ``<user>/<device>``."""
    for topic_filter in filters:
        captured = topic_filter.captures(topic)
        if captured and all(captured):
            return "/".join(captured)
    return None


def map_publish(
    topic: str,
    payload: bytes,
    filters: list[TopicFilter],
    *,
    now_ms: int,
    secret: str | None,
    max_future_ms: int,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> Mapped:
    """One publish -> points / ignored / :class:`RejectError`.

    OwnTracks when the topic is ``owntracks/<user>/<device>[/...]`` or the payload has ``_type`` (the
    apps' base topic is configurable); the device JSON otherwise.
    """
    doc = parse_payload(payload)
    if doc is None:
        return ignored("zero-length payload (clears a retained message)")
    owntracks_id = owntracks.vehicle_id_from_topic(topic)
    if owntracks_id is not None or "_type" in doc:
        vehicle_id = owntracks_id or topic_vehicle_id(filters, topic)
        if vehicle_id is None:
            raise RejectError(f"OwnTracks message on topic {topic!r}, which names no device")
        return owntracks.map_document(
            doc, vehicle_id, now_ms=now_ms, secret=secret, max_future_ms=max_future_ms, min_ts_ms=min_ts_ms
        )
    return custom.map_document(
        doc, topic_vehicle_id(filters, topic), now_ms=now_ms, max_future_ms=max_future_ms, min_ts_ms=min_ts_ms
    )
