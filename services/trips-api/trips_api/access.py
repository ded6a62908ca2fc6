"""Who may call the API and how often (pure logic, no I/O): bearer tokens, allowed browser origins and
a per-client-address token bucket. Shared in spirit with the ws-relay, which has the same rules.

- ``API_TOKENS``: comma-separated tokens; a request carrying ``Authorization: Bearer <token>`` with one of
  them is served. Compose passes ``INGEST_TOKEN`` and ``MAP_TOKEN`` here.
- ``API_ALLOWED_ORIGINS``: browser origins (the map's) served without a token. A browser always sends
  ``Origin`` on cross-origin requests and a web page cannot forge it, so another site cannot use the API
  through its visitors' browsers; a non-browser client can send any header, so this is an allow-list for
  browsers, not a secret.
- both empty: no authentication (local development and tests); the service logs a warning at start.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from geostream.access import token_accepted


@dataclass(frozen=True)
class AccessPolicy:
    tokens: tuple[str, ...]
    origins: tuple[str, ...]

    @property
    def open(self) -> bool:
        return not self.tokens and not self.origins

    def decide(self, token: str | None, origin: str | None) -> str | None:
        """None when the request may proceed, else the reason it may not (for the 401 body)."""
        if self.open or token_accepted(token, self.tokens):
            return None
        if origin and origin in self.origins:
            return None
        if token is not None:
            return "invalid token"
        return "a bearer token is required (Authorization: Bearer <token>)"


class RateLimiter:
    """A token bucket per client address: ``rate`` requests per second, bursts of ``burst``.

    At most ``max_clients`` addresses are remembered (least recently seen forgotten first), so a flood of
    addresses cannot grow memory. Thread-safe.
    """

    def __init__(self, rate: float, burst: int, max_clients: int = 100_000, clock=time.monotonic):
        self.rate = rate
        self.burst = max(burst, 1)
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, client: str) -> float:
        """0 when the request may proceed; else the seconds until it would (for ``Retry-After``)."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


def retry_after(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))
