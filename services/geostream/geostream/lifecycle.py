"""Graceful shutdown and reconnect pacing shared by the long-running services."""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Iterator


class Shutdown:
    """Set by SIGTERM or SIGINT; a service loop polls ``requested`` or waits on it, then flushes and exits.

    A second signal while shutting down raises KeyboardInterrupt in the main thread: a stuck service can
    still be interrupted, and its ``finally`` blocks (stopping child processes, closing clients) still run.
    """

    def __init__(self, install: bool = True) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None
        if install:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        self._event.set()

    def request(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


def backoff(
    initial: float = 0.5, maximum: float = 30.0, factor: float = 2.0, jitter: float = 0.2
) -> Iterator[float]:
    """Exponential reconnect delays with jitter: 0.5, 1, 2, ... capped at ``maximum`` seconds."""
    delay = initial
    while True:
        yield delay * random.uniform(1 - jitter, 1 + jitter)
        delay = min(delay * factor, maximum)
