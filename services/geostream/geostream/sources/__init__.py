"""Mappers from the wire formats of third-party location sources to ``locations_topic`` points.

Pure functions only (no I/O): OwnTracks (MQTT and HTTP mode), the OsmAnd protocol of Traccar Client,
OpenSky ``states/all`` snapshots and the platform's own device JSON. Every mapper answers in one of three
ways, the actions of the real-client corpus:

- *accept*: a :class:`Mapped` with points;
- *ignore*: a :class:`Mapped` without points and the reason (a well-formed message that carries no track
  point, e.g. an OwnTracks ``lwt``); the sender gets a success answer;
- *reject*: :class:`RejectError` is raised with a reason a client can act on (HTTP 4xx, MQTT dead letter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import orjson


class RejectError(ValueError):
    """The input is malformed; ``reason`` says why in terms of the sender's format."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass
class Mapped:
    points: list[dict[str, Any]] = field(default_factory=list)
    ignored: str | None = None
    """Why no point came out of a well-formed input (None when there are points)."""


def ignored(reason: str) -> Mapped:
    return Mapped([], reason)


def known_or_none(value: object) -> object:
    """Clients write -1 (or any negative number) for an unknown speed, course, accuracy or battery level."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value < 0:
        return None
    return value


def scaled(value: object, factor: float) -> object:
    """``value * factor`` for a number; anything else unchanged, so that validation reports its type."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value * factor
    return value


def parse_payload(payload: bytes | str) -> dict[str, Any] | None:
    """The JSON object of a publish or POST body; None for a zero-length (or blank) payload."""
    if not payload or not payload.strip():
        return None
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise RejectError(f"payload is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RejectError(f"payload must be a JSON object, not {type(doc).__name__}")
    return doc
