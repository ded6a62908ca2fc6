"""The latest-position table: one entry per vehicle, the newest event time wins (pure, no I/O).

Every accepted update gets the next sequence number and moves its vehicle to the end of an ordered
dict, so the entries changed after sequence ``s`` are exactly a suffix of the table. A client that
last received everything up to ``s`` gets ``changes_since(s)``: the coalesced changes (one entry per
vehicle, latest wins) in time proportional to what changed, and no per-client buffer at all.

For protocol v2 the table also keeps a spatial index (the vehicles of each cell of a coarse tile
grid, so a newly subscribed tile's snapshot does not scan the table) and a history of moves: one
record per change, ``(seq, vehicle_id, lon, lat)`` with the position the vehicle had *before* that
change (NaN for a new vehicle; a removal is a change too). With it the relay tells which vehicles
left a client's tiles since any sequence number the history still holds, without a per-client copy.

Memory is bounded by ``max_vehicles`` and ``history_limit``; vehicles not heard from for ``ttl_ms``
leave the table.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator, ValuesView
from enum import Enum
from operator import itemgetter
from typing import NamedTuple

from ws_relay.tiles import Tile, column, row

NAN = math.nan
INDEX_LEVEL = 6
"""Cells of the spatial index: 64 x 64, 5.6 by 2.8 degrees."""
_SEQ = itemgetter(0)


class Entry(NamedTuple):
    seq: int
    lon: float
    lat: float
    ts: int
    seen_ms: int
    """When the relay heard of the point (relay clock, or the record time for the start-up look-back)."""
    json: bytes
    """The point as compact JSON, encoded once and shared by every frame."""
    vehicle_id: str = ""
    speed: float = NAN
    heading: float = NAN
    alt: float = NAN
    battery: float = NAN
    strings: bytes = b""
    """The vehicle's record in a binary frame's string section (id and source), encoded once."""


class Move(NamedTuple):
    seq: int
    vehicle_id: str
    lon: float
    """Where the vehicle was before change ``seq`` (NaN: it was new)."""
    lat: float


class Outcome(Enum):
    APPLIED = "applied"
    STALE = "stale"
    """An older event time than the vehicle's current point: kept out (late or replayed record)."""


class LatestTable:
    def __init__(self, max_vehicles: int, ttl_ms: int, history_limit: int | None = None):
        if max_vehicles < 1:
            raise ValueError("max_vehicles must be at least 1")
        self.max_vehicles = max_vehicles
        self.ttl_ms = ttl_ms
        self.history_limit = history_limit or max_vehicles
        self.seq = 0
        self.evicted = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._history: list[Move] = []
        self._history_start = 0
        self.history_floor = 0
        """Moves after this sequence number are all in the history (older ones were forgotten)."""

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, vehicle_id: str) -> bool:
        return vehicle_id in self._entries

    def get(self, vehicle_id: str) -> Entry | None:
        return self._entries.get(vehicle_id)

    def apply(
        self,
        vehicle_id: str,
        lon: float,
        lat: float,
        ts: int,
        json: bytes,
        seen_ms: int,
        *,
        speed: float = NAN,
        heading: float = NAN,
        alt: float = NAN,
        battery: float = NAN,
        strings: bytes = b"",
    ) -> Outcome:
        entries = self._entries
        old = entries.get(vehicle_id)
        cell = (column(lon, INDEX_LEVEL), row(lat, INDEX_LEVEL))
        if old is None:
            self._cells.setdefault(cell, set()).add(vehicle_id)
            before = (NAN, NAN)
        else:
            if ts < old.ts:
                return Outcome.STALE
            entries.move_to_end(vehicle_id)
            old_cell = (column(old.lon, INDEX_LEVEL), row(old.lat, INDEX_LEVEL))
            if old_cell != cell:
                self._uncell(vehicle_id, old_cell)
                self._cells.setdefault(cell, set()).add(vehicle_id)
            before = (old.lon, old.lat)
        self.seq += 1
        entries[vehicle_id] = Entry(
            self.seq, lon, lat, ts, seen_ms, json, vehicle_id, speed, heading, alt, battery, strings
        )
        self._record(vehicle_id, *before)
        if len(entries) > self.max_vehicles:
            self._remove_oldest()
            self.evicted += 1
        return Outcome.APPLIED

    def _uncell(self, vehicle_id: str, cell: tuple[int, int]) -> None:
        members = self._cells[cell]
        members.discard(vehicle_id)
        if not members:
            del self._cells[cell]

    def _record(self, vehicle_id: str, lon: float, lat: float) -> None:
        self._history.append(Move(self.seq, vehicle_id, lon, lat))
        if len(self._history) - self._history_start > self.history_limit:
            self.forget_history(self._history[self._history_start].seq)

    def _remove_oldest(self) -> None:
        vehicle_id, entry = self._entries.popitem(last=False)
        self._uncell(vehicle_id, (column(entry.lon, INDEX_LEVEL), row(entry.lat, INDEX_LEVEL)))
        self.seq += 1
        self._record(vehicle_id, entry.lon, entry.lat)

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

    def moves_since(self, seq: int) -> dict[str, Move] | None:
        """For each vehicle changed (or removed) after ``seq``: its first move since, whose position is
        where it was at ``seq`` (NaN if it was not in the table). None when the history no longer
        reaches back to ``seq``."""
        if seq < self.history_floor:
            return None
        history = self._history
        first: dict[str, Move] = {}
        for i in range(bisect_right(history, seq, lo=self._history_start, key=_SEQ), len(history)):
            move = history[i]
            if move.vehicle_id not in first:
                first[move.vehicle_id] = move
        return first

    def forget_history(self, upto_seq: int) -> None:
        """Drop the moves up to ``upto_seq`` (no client needs to look back further)."""
        history = self._history
        cut = bisect_right(history, upto_seq, lo=self._history_start, key=_SEQ)
        if cut > self._history_start:
            self.history_floor = history[cut - 1].seq
            self._history_start = cut
        if self._history_start > 1024 and self._history_start * 2 > len(history):
            del history[: self._history_start]
            self._history_start = 0

    def history_size(self) -> int:
        return len(self._history) - self._history_start

    def in_tile(self, tile: Tile) -> Iterator[Entry]:
        """The entries inside ``tile`` (through the spatial index)."""
        entries = self._entries
        if tile.level <= INDEX_LEVEL:
            shift = INDEX_LEVEL - tile.level
            for (x, y), members in self._cells.items():
                if x >> shift == tile.x and y >> shift == tile.y:
                    for vid in members:
                        yield entries[vid]
            return
        shift = tile.level - INDEX_LEVEL
        members = self._cells.get((tile.x >> shift, tile.y >> shift), ())
        level, tx, ty = tile
        for vid in members:
            entry = entries[vid]
            if column(entry.lon, level) == tx and row(entry.lat, level) == ty:
                yield entry

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
            self._remove_oldest()
            dropped += 1
        self.evicted += dropped
        return dropped
