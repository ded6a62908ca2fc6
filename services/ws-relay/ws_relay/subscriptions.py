"""What each protocol v2 client receives and when (pure, no I/O): tile subscriptions, shared frames.

A v2 client is subscribed to the tiles covering its viewport (:func:`ws_relay.tiles.cover`). Its state:

- ``synced``: disjoint tiles it holds every vehicle of, as of ``last_seq``;
- ``pending``: tiles whose snapshot is still to come. They are references, not copies: a tile's
  points are read from the table, and encoded, in the round its snapshot goes out, at most
  ``snapshot_points`` points per client per round (a bigger tile is split into its four children).

Each round (:class:`Round`) groups the table's changes by tile, once per tile level in use, into
:class:`~ws_relay.protocol_v2.Block` objects encoded once per format; every client that kept up gets
its frames joined from those shared blocks (clients on the same tiles share the very same bytes). In
order, a client gets: a remove frame (vehicles that left its tiles or expired), an update frame (what
changed in its tiles), after a viewport change a remove frame of every vehicle in the tiles it no
longer covers, and a snapshot frame (the next pending tiles). A client whose frames were skipped (busy
socket) catches up from the table's history of moves, exactly, with one point per vehicle.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ws_relay.geo import BBox
from ws_relay.protocol_v2 import Block, Format, Kind, encode_frame
from ws_relay.table import Entry, LatestTable, Move
from ws_relay.tiles import MAX_LEVEL, Tile, cover, tile_of

SNAPSHOT_POINTS = 5000
"""Points per snapshot frame (and per client and round): bounds what a client's pending frame pins."""


@dataclass(slots=True)
class Subscription:
    fmt: Format
    wanted: frozenset[Tile]
    last_seq: int
    synced: set[Tile] = field(default_factory=set)
    pending: list[Tile] = field(default_factory=list)
    viewport_changed: bool = True
    first_snapshot_due: bool = True

    @classmethod
    def open(cls, fmt: Format, bbox: BBox | None, seq: int, zoom: float | None = None) -> Subscription:
        return cls(fmt, cover(bbox, zoom), seq)

    def set_viewport(self, bbox: BBox | None, zoom: float | None = None) -> None:
        wanted = cover(bbox, zoom)
        if wanted != self.wanted:
            self.wanted = wanted
            self.viewport_changed = True

    def behind(self, head: int) -> bool:
        """Whether this client has something to receive."""
        return self.last_seq < head or self.viewport_changed or bool(self.pending) or self.first_snapshot_due

    def covers(self, lon: float, lat: float) -> bool:
        return _covered(lon, lat, self.synced)


def _covered(lon: float, lat: float, tiles: set[Tile]) -> bool:
    if not tiles or math.isnan(lon):
        return False
    return any(tile_of(lon, lat, level) in tiles for level in {t.level for t in tiles})


def _area(tile: Tile) -> int:
    """Exact area in units of the finest tile level (disjoint tiles add up)."""
    return 4 ** (MAX_LEVEL - tile.level)


class Round:
    """One round of frames; ``since`` is where the previous round left every client that kept up."""

    def __init__(
        self, table: LatestTable, since: int, server_time: int, snapshot_points: int = SNAPSHOT_POINTS
    ):
        self.table = table
        self.since = since
        self.head = table.seq
        self.server_time = server_time
        self.snapshot_points = snapshot_points
        self.changes: list[Entry] = table.changes_since(since)
        self.moves: dict[str, Move] = (table.moves_since(since) or {}) if since < self.head else {}
        self._updates: dict[int, dict[Tile, Block]] = {}
        self._departures: dict[int, dict[Tile, Block]] = {}
        self._snapshots: dict[Tile, Block] = {}
        self._frames: dict[tuple, bytes] = {}

    # Shared per level and tile ---------------------------------------------------------------------

    def _group(self, level: int) -> None:
        updates: defaultdict[Tile, list[Entry]] = defaultdict(list)
        for entry in self.changes:
            updates[tile_of(entry.lon, entry.lat, level)].append(entry)
        departures: defaultdict[Tile, list[str]] = defaultdict(list)
        table = self.table
        for vid, move in self.moves.items():
            if math.isnan(move.lon):
                continue  # new since the last round: no client had it
            before = tile_of(move.lon, move.lat, level)
            now = table.get(vid)
            if now is None or tile_of(now.lon, now.lat, level) != before:
                departures[before].append(vid)
        self._updates[level] = {t: Block(entries) for t, entries in updates.items()}
        self._departures[level] = {t: Block(ids=ids) for t, ids in departures.items()}

    def _shared(self, kind: Kind, tiles: Iterable[Tile]) -> list[Block]:
        groups = self._departures if kind is Kind.REMOVE else self._updates
        blocks = []
        for tile in tiles:
            if tile.level not in groups:
                self._group(tile.level)
            block = groups[tile.level].get(tile)
            if block is not None:
                blocks.append(block)
        return blocks

    def snapshot_block(self, tile: Tile) -> Block:
        block = self._snapshots.get(tile)
        if block is None:
            block = self._snapshots[tile] = Block(list(self.table.in_tile(tile)))
        return block

    def frame(self, kind: Kind, fmt: Format, blocks: list[Block], shared: bool) -> bytes:
        """A frame from blocks; frames made only of shared blocks are themselves shared."""
        if not shared:
            return encode_frame(kind, fmt, self.server_time, blocks)
        key = (kind, fmt, *map(id, blocks))
        encoded = self._frames.get(key)
        if encoded is None:
            encoded = self._frames[key] = encode_frame(kind, fmt, self.server_time, blocks)
        return encoded

    # Per client --------------------------------------------------------------------------------------

    def frames_for(self, sub: Subscription) -> list[bytes]:
        """The frames ``sub`` gets this round, in order (possibly none); marks them sent."""
        removes: list[Block] = []
        updates: list[Block] = []
        shared = True
        if sub.synced and sub.last_seq < self.head:
            if sub.last_seq == self.since:
                tiles = sorted(sub.synced)  # one order: clients on the same tiles share the frame
                removes = self._shared(Kind.REMOVE, tiles)
                updates = self._shared(Kind.UPDATE, tiles)
            else:
                removes, updates = self._catch_up(sub)
                shared = False
        sub.last_seq = self.head
        frames = []
        if any(map(len, removes)):
            frames.append(self.frame(Kind.REMOVE, sub.fmt, removes, shared))
        if any(map(len, updates)):
            frames.append(self.frame(Kind.UPDATE, sub.fmt, updates, shared))
        if sub.viewport_changed:
            # After the updates: a vehicle that just moved into a tile the client leaves goes too.
            dropped = self._reconcile(sub)
            if dropped:
                frames.append(self.frame(Kind.REMOVE, sub.fmt, [Block(ids=dropped)], False))
        snapshot = self._next_snapshot(sub)
        if snapshot or sub.first_snapshot_due:
            frames.append(self.frame(Kind.SNAPSHOT, sub.fmt, snapshot, True))
            sub.first_snapshot_due = False
        return frames

    def _catch_up(self, sub: Subscription) -> tuple[list[Block], list[Block]]:
        """Everything a client that missed rounds needs, computed for it alone (one point per vehicle)."""
        table = self.table
        upserts = [e for e in table.changes_since(sub.last_seq) if sub.covers(e.lon, e.lat)]
        moves = table.moves_since(sub.last_seq)
        if moves is None:
            # The history no longer reaches back that far: remove every changed vehicle outside the
            # client's tiles (ids it does not hold are ignored by clients; the expired ones age out).
            gone = [e.vehicle_id for e in table.changes_since(sub.last_seq) if not sub.covers(e.lon, e.lat)]
        else:
            gone = []
            for vid, move in moves.items():
                if not sub.covers(move.lon, move.lat):
                    continue
                now = table.get(vid)
                if now is None or not sub.covers(now.lon, now.lat):
                    gone.append(vid)
        return [Block(ids=gone)], [Block(upserts)]

    def _reconcile(self, sub: Subscription) -> list[str]:
        """Applies a new viewport: which synced tiles stay, what becomes pending; returns the ids of the
        vehicles the client holds and no longer covers."""
        sub.viewport_changed = False
        wanted = sub.wanted
        level = next(iter(wanted)).level
        synced: set[Tile] = set()
        dropped: list[str] = []
        table = self.table
        for tile in sub.synced:
            if tile.level >= level:
                if tile.ancestor(level) in wanted:
                    synced.add(tile)
                else:
                    dropped.extend(e.vehicle_id for e in table.in_tile(tile))
                continue
            inner = {w for w in wanted if tile.holds(w)}
            synced |= inner  # zooming in: the client already holds these tiles' vehicles
            dropped.extend(
                e.vehicle_id for e in table.in_tile(tile) if tile_of(e.lon, e.lat, level) not in inner
            )
        kept_pending = [p for p in sub.pending if p.level >= level and p.ancestor(level) in wanted]
        pending = []
        for w in sorted(wanted):
            parts = [t for t in (*synced, *kept_pending) if w.holds(t)]
            if sum(map(_area, parts)) == _area(w):
                pending.extend(p for p in kept_pending if w.holds(p))
            else:
                pending.append(w)
        sub.synced = synced
        sub.pending = pending
        return dropped

    def _next_snapshot(self, sub: Subscription) -> list[Block]:
        budget = self.snapshot_points
        blocks: list[Block] = []
        pending = sub.pending
        while pending:
            tile = pending[0]
            block = self.snapshot_block(tile)
            if len(block) > self.snapshot_points and tile.level < MAX_LEVEL:
                pending[0:1] = tile.children()
                continue
            if blocks and len(block) > budget:
                break
            pending.pop(0)
            budget -= len(block)
            if len(block):
                blocks.append(block)
            sub.synced = {t for t in sub.synced if not tile.holds(t)}
            sub.synced.add(tile)
        return blocks
