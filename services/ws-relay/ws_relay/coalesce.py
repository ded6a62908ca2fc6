"""What each client receives and when (pure, no I/O): snapshots, coalesced updates, viewport changes.

A client's state is one sequence number, ``last_seq``: it has received the latest point of every
vehicle up to that update. Each tick (about every 100 ms) the relay builds one :class:`Tick`; a client
that kept up gets that tick's changes (filtered by its viewport; clients without a viewport share one
encoded frame), a client whose frames were skipped because its socket was full gets everything it
missed, still one point per vehicle. A new viewport resends every vehicle inside it, so vehicles that
were out of view and have not moved since appear at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ws_relay.geo import BBox, select
from ws_relay.protocol import Frame, make_frame
from ws_relay.table import Entry, LatestTable


@dataclass(slots=True)
class ClientView:
    bbox: BBox | None = None
    last_seq: int = 0
    resync: bool = False

    def set_viewport(self, bbox: BBox | None) -> None:
        self.bbox = bbox
        self.resync = True


def snapshot(table: LatestTable, view: ClientView) -> Frame:
    """The connect-time frame: every vehicle in the view; the client is then up to date."""
    view.last_seq = table.seq
    view.resync = False
    return make_frame("snapshot", select(table.entries(), view.bbox))


class Tick:
    """One round of frames; ``since`` is where the previous round left every up-to-date client."""

    def __init__(self, table: LatestTable, since: int):
        self.table = table
        self.since = since
        self.head = table.seq
        self.changes: list[Entry] = table.changes_since(since)
        self._shared: Frame | None = None
        # Maps opened on the same view (a city's default viewport) share one filtered frame per round.
        self._by_bbox: dict[BBox, Frame | None] = {}

    def behind(self, view: ClientView) -> bool:
        """Whether ``view`` has something to receive this round."""
        return view.resync or view.last_seq < self.head

    def frame_for(self, view: ClientView) -> Frame | None:
        """The update frame for ``view`` (None when nothing in its viewport changed); marks it sent."""
        if view.resync:
            points = select(self.table.entries(), view.bbox)
            view.resync = False
        elif view.last_seq >= self.head:
            return None
        elif view.last_seq == self.since:
            view.last_seq = self.head
            if view.bbox is None:
                return self._shared_frame()
            if view.bbox not in self._by_bbox:
                points = view.bbox.select(self.changes)
                self._by_bbox[view.bbox] = make_frame("update", points) if points else None
            return self._by_bbox[view.bbox]
        else:
            points = select(self.table.changes_since(view.last_seq), view.bbox)
        view.last_seq = self.head
        return make_frame("update", points) if points else None

    def _shared_frame(self) -> Frame | None:
        if self._shared is None and self.changes:
            self._shared = make_frame("update", [e.json for e in self.changes])
        return self._shared
