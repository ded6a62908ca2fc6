"""Sending batches to the ingest API: retry with backoff on 429/5xx and connection errors, report 4xx."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import requests

from geostream.lifecycle import backoff

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Outcome:
    ok: bool
    sent: int = 0
    attempts: int = 0
    error: str | None = None


def _retry_after(reply: requests.Response) -> float | None:
    try:
        return float(reply.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _sent(reply: requests.Response) -> int:
    """The ``sent`` count of a 2xx answer; 0 when the answer does not say (never a crash)."""
    try:
        body = reply.json()
    except ValueError:
        return 0
    sent = body.get("sent") if isinstance(body, dict) else None
    return sent if isinstance(sent, int) and not isinstance(sent, bool) else 0


def send_batch(
    session: requests.Session,
    url: str,
    items: list[dict[str, Any]],
    *,
    retries: int,
    timeout: float,
    token: str | None = None,
    max_delay: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, str, float], None] = lambda *_: None,
) -> Outcome:
    body = orjson.dumps(items)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    delays = backoff(initial=0.5, maximum=max_delay)
    attempt = 0
    while True:
        attempt += 1
        try:
            reply = session.post(url, data=body, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            problem, wait = f"{type(exc).__name__}: {exc}", None
        else:
            if reply.status_code < 300:
                return Outcome(True, _sent(reply), attempt)
            problem = f"HTTP {reply.status_code}: {reply.text[:500]}"
            if reply.status_code not in RETRY_STATUSES:
                return Outcome(False, 0, attempt, problem)
            wait = _retry_after(reply)
        if attempt > retries:
            return Outcome(False, 0, attempt, f"gave up after {attempt} attempts: {problem}")
        delay = min(max(wait or 0.0, next(delays)), max_delay)
        on_retry(attempt, problem, delay)
        sleep(delay)
