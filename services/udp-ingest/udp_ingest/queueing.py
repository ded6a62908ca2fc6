"""A queue bounded by item count and by bytes: memory stays bounded however fast datagrams arrive."""

from __future__ import annotations

import threading
import time
from collections import deque


class BoundedByteQueue:
    def __init__(self, max_items: int, max_bytes: int):
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: deque[bytes] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)

    def _fits(self, size: int) -> bool:
        return len(self._items) < self.max_items and (self._bytes + size <= self.max_bytes or not self._items)

    def offer(self, item: bytes) -> bool:
        """Enqueue without waiting; False (and nothing queued) when full."""
        with self._lock:
            if not self._fits(len(item)):
                return False
            self._items.append(item)
            self._bytes += len(item)
            self._not_empty.notify()
            return True

    def put(self, item: bytes, timeout: float) -> bool:
        """Enqueue, waiting up to ``timeout`` for room (senders that need delivery: TCP)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._fits(len(item)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._not_full.wait(remaining)
            self._items.append(item)
            self._bytes += len(item)
            self._not_empty.notify()
            return True

    def take(self, timeout: float) -> bytes | None:
        with self._lock:
            if not self._items and not self._not_empty.wait(timeout):
                return None
            if not self._items:
                return None
            item = self._items.popleft()
            self._bytes -= len(item)
            self._not_full.notify()
            return item

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes
