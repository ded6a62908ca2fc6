"""The latest-position table: one entry per vehicle, the newest event time wins (pure, no I/O).

Every accepted update gets the next sequence number and moves its vehicle to the end of an ordered
dict, so the entries changed after sequence ``s`` are exactly a suffix of the table. A client that
last received everything up to ``s`` gets ``changes_since(s)``: the coalesced changes (one entry per
vehicle, latest wins) in time proportional to what changed, and no per-client buffer at all.

Memory is bounded by ``max_vehicles``; vehicles not heard from for ``ttl_ms`` leave the table.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import ValuesView
from enum import Enum
from typing import NamedTuple


class Entry(NamedTuple):
    seq: int
    lon: float
    lat: float
    ts: int
    seen_ms: int
    """When the relay heard of the point (relay clock, or the record time for the start-up look-back)."""
    json: bytes
    """The point as compact JSON, encoded once and shared by every frame."""


class Outcome(Enum):
    APPLIED = "applied"
    STALE = "stale"
    """An older event time than the vehicle's current point: kept out (late or replayed record)."""


class LatestTable:
    def __init__(self, max_vehicles: int, ttl_ms: int):
        if max_vehicles < 1:
            raise ValueError("max_vehicles must be at least 1")
        self.max_vehicles = max_vehicles
        self.ttl_ms = ttl_ms
        self.seq = 0
        self.evicted = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, vehicle_id: str) -> bool:
        return vehicle_id in self._entries

    def get(self, vehicle_id: str) -> Entry | None:
        return self._entries.get(vehicle_id)

    def apply(self, vehicle_id: str, lon: float, lat: float, ts: int, json: bytes, seen_ms: int) -> Outcome:
        entries = self._entries
        old = entries.get(vehicle_id)
        if old is not None:
            if ts < old.ts:
                return Outcome.STALE
            entries.move_to_end(vehicle_id)
        self.seq += 1
        entries[vehicle_id] = Entry(self.seq, lon, lat, ts, seen_ms, json)
        if len(entries) > self.max_vehicles:
            entries.popitem(last=False)
            self.evicted += 1
        return Outcome.APPLIED

    def entries(self) -> ValuesView[Entry]:
        return self._entries.values()

    def changes_since(self, seq: int) -> list[Entry]:
        """Entries updated after ``seq``, newest first: one per vehicle, its latest point."""
        if seq >= self.seq:
            return []
        changed = []
        for entry in reversed(self._entries.values()):
            if entry.seq <= seq:
                break
            changed.append(entry)
        return changed

    def prune(self, now_ms: int) -> int:
        """Drop vehicles not heard from for ``ttl_ms``; returns how many left.

        The oldest updates sit at the front, so this stops at the first fresh entry. Entries loaded by
        the start-up look-back are in partition order, not in global time order, so a few may stay past
        the TTL until the entries in front of them go (at most one more TTL).
        """
        cutoff = now_ms - self.ttl_ms
        entries = self._entries
        dropped = 0
        while entries:
            first = next(iter(entries.values()))
            if first.seen_ms >= cutoff:
                break
            entries.popitem(last=False)
            dropped += 1
        self.evicted += dropped
        return dropped
