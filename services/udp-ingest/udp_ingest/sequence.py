"""Per-sensor sequence-gap counting for senders that number their records (``seq``)."""

from __future__ import annotations

from collections import OrderedDict


class SequenceTracker:
    """Remembers the last ``seq`` of up to ``capacity`` sensors (least recently seen forgotten first).

    :meth:`observe` returns how many records are missing before this one: ``seq`` one above the last gives
    0, two above gives 1, and so on. A ``seq`` at or below the last one is a duplicate, a reordering or a
    restarted sender: it counts no gap and becomes the new reference.
    """

    def __init__(self, capacity: int = 100_000):
        self.capacity = capacity
        self._last: OrderedDict[str, int] = OrderedDict()

    def observe(self, sensor: str, seq: int) -> int:
        last = self._last.pop(sensor, None)
        self._last[sensor] = seq
        if len(self._last) > self.capacity:
            self._last.popitem(last=False)
        if last is None or seq <= last:
            return 0
        return seq - last - 1

    def __len__(self) -> int:
        return len(self._last)
