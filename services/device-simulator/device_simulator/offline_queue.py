"""A device's offline queue: one SQLite file per device, messages in order, bounded.

Every message goes through the queue (write-ahead), so what is published after a reconnect keeps its
order behind what was queued during the outage. A row leaves the queue only when the broker acknowledged
it (PUBACK); a crash replays the rows still there (at least once). When the queue is full the oldest
message not yet handed to the MQTT client is dropped, and the drop is counted (persisted with the queue).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class OfflineQueue:
    def __init__(self, path: Path, max_messages: int):
        if max_messages < 1:
            raise ValueError("the queue must hold at least one message")
        self.path = path
        self.max_messages = max_messages
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload BLOB NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('dropped', 0)")
        self._count = self._db.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
        self.dropped = self._db.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()[0]

    def __len__(self) -> int:
        return self._count

    def put(self, payload: bytes, handed_up_to: int = 0) -> int:
        """Append a message; returns how many old ones were dropped to make room (0 or more).

        ``handed_up_to``: rows up to this sequence number are with the MQTT client already and are not
        dropped (they may be on the wire).
        """
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT INTO queue (payload) VALUES (?)", (payload,))
            self._count += 1
            excess = self._count - self.max_messages
            if excess <= 0:
                return 0
            dropped = self._db.execute(
                "DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE seq > ? ORDER BY seq LIMIT ?)",
                (handed_up_to, excess),
            ).rowcount
            self._count -= dropped
            self.dropped += dropped
            self._db.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped'", (dropped,))
            return dropped

    def peek(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        """The oldest ``limit`` messages with a sequence number above ``after``, in order."""
        return self._db.execute(
            "SELECT seq, payload FROM queue WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ).fetchall()

    def remove(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            removed = 0
            for seq in seqs:
                removed += self._db.execute("DELETE FROM queue WHERE seq = ?", (seq,)).rowcount
            self._count -= removed

    def close(self) -> None:
        self._db.close()
