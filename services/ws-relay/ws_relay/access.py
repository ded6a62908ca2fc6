"""Who may open the live feed (pure logic, no I/O).

Browsers cannot set headers on a WebSocket, so a client proves itself with one of:
- a token in the URL, ``ws://host:8082/?token=<token>``;
- a token as a subprotocol, ``new WebSocket(url, ["bearer.<token>"])`` (the relay selects it in its
  answer, as browsers require);
- an ``Origin`` in ``RELAY_ALLOWED_ORIGINS`` (the map's): browsers always send it and a web page cannot
  forge it; a non-browser client can, so this is a browser allow-list, not a secret.
With neither ``RELAY_TOKENS`` nor ``RELAY_ALLOWED_ORIGINS`` set, the feed is open (development, tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from geostream.access import token_accepted

SUBPROTOCOL_PREFIX = "bearer."


def query_token(path: str) -> str | None:
    values = parse_qs(urlsplit(path).query).get("token")
    return values[0] if values else None


def subprotocol_token(offered: Sequence[str]) -> tuple[str, str] | None:
    """``(subprotocol, token)`` of the first ``bearer.<token>`` subprotocol offered, else None."""
    for protocol in offered:
        if protocol.startswith(SUBPROTOCOL_PREFIX) and len(protocol) > len(SUBPROTOCOL_PREFIX):
            return protocol, protocol[len(SUBPROTOCOL_PREFIX) :]
    return None


@dataclass(frozen=True)
class AccessPolicy:
    tokens: tuple[str, ...]
    origins: tuple[str, ...]

    @property
    def open(self) -> bool:
        return not self.tokens and not self.origins

    def allows(self, tokens_presented: Sequence[str | None], origin: str | None) -> bool:
        if self.open or any(token_accepted(t, self.tokens) for t in tokens_presented):
            return True
        return bool(origin) and origin in self.origins


@dataclass
class ConnectionsPerAddress:
    """Open connections per client address, bounded by ``limit`` (0: no limit)."""

    limit: int
    open: Counter[str] = field(default_factory=Counter)

    def full(self, address: str) -> bool:
        return self.limit > 0 and self.open[address] >= self.limit

    def opened(self, address: str) -> None:
        self.open[address] += 1

    def closed(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]
