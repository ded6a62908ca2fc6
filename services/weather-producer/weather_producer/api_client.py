"""HTTP side of the Visual Crossing Timeline API: one request per city, within a daily cost budget.

Visual Crossing bills "records" (``queryCost`` in each response; the free plan allows 1,000 a day). The
client asks for the current conditions plus the hours up to one hour ahead (a cost of about 2), spends at
most ``daily_budget`` per UTC day, and backs off after HTTP 429 (honouring ``Retry-After``) or any failure.
While it cannot ask, :meth:`fetch` raises :class:`ApiUnavailableError` and the producer simulates instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

BASE_URL = "https://weather.visualcrossing.com/VisualCrossingWebServices/rest/services/timeline"
ESTIMATED_COST = 2


class ApiUnavailableError(RuntimeError):
    """No API answer now (no key, budget spent, backing off, HTTP or network error); the reason says which."""


@dataclass
class Budget:
    daily: int
    spent: int = 0
    day: str = ""

    def _roll(self, now: datetime) -> None:
        today = now.strftime("%Y-%m-%d")
        if today != self.day:
            self.day, self.spent = today, 0

    def allows(self, cost: int, now: datetime) -> bool:
        self._roll(now)
        return self.spent + cost <= self.daily

    def spend(self, cost: int, now: datetime) -> None:
        self._roll(now)
        self.spent += cost


@dataclass
class VisualCrossingClient:
    api_key: str
    daily_budget: int = 1000
    timeout_s: float = 10.0
    backoff_initial_s: float = 60.0
    backoff_max_s: float = 3600.0
    base_url: str = BASE_URL
    session: requests.Session = field(default_factory=requests.Session)
    clock: Callable[[], float] = time.time
    budget: Budget = field(init=False)
    _blocked_until: float = 0.0
    _backoff_s: float = 0.0

    def __post_init__(self) -> None:
        self.budget = Budget(self.daily_budget)

    def _fail(self, reason: str, retry_after: float | None = None) -> ApiUnavailableError:
        self._backoff_s = min(max(self._backoff_s * 2, self.backoff_initial_s), self.backoff_max_s)
        self._blocked_until = self.clock() + max(retry_after or 0.0, self._backoff_s)
        return ApiUnavailableError(reason)

    def fetch(self, location: str) -> dict[str, Any]:
        now = self.clock()
        moment = datetime.fromtimestamp(now, UTC)
        if not self.api_key:
            raise ApiUnavailableError("no VISUAL_CROSSING_API_KEY")
        if now < self._blocked_until:
            raise ApiUnavailableError(f"backing off for {self._blocked_until - now:.0f} s")
        if not self.budget.allows(ESTIMATED_COST, moment):
            raise ApiUnavailableError(f"daily budget of {self.budget.daily} records spent")
        start = int(now)
        url = f"{self.base_url}/{quote(location, safe=',')}/{start}/{start + 3600}"
        params = {
            "unitGroup": "metric",
            "include": "current,hours",
            "contentType": "json",
            "key": self.api_key,
        }
        try:
            response = self.session.get(url, params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise self._fail(f"request failed: {type(exc).__name__}") from None
        if response.status_code == 429:
            raise self._fail("HTTP 429 (rate limited)", _retry_after(response.headers.get("Retry-After")))
        if response.status_code != 200:
            raise self._fail(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise self._fail("response is not JSON") from None
        if not isinstance(body, dict):
            raise self._fail("response is not a JSON object")
        cost = body.get("queryCost")
        self.budget.spend(cost if isinstance(cost, int) and cost > 0 else ESTIMATED_COST, moment)
        self._backoff_s = 0.0
        return body


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None
