"""Pure decisions of the segmenter (no I/O): which days to partition, what retention cuts, when to act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class RoundResult:
    claimed: int
    vehicles: int
    stored: int
    removed: int

    def backlogged(self, batch_rows: int) -> bool:
        """A full round leaves more queued work: run the next one at once instead of pausing."""
        return self.claimed >= batch_rows


def partition_window(today: date, ahead_days: int) -> tuple[date, date]:
    """Day partitions kept ready: yesterday (late points around midnight) to ``ahead_days`` ahead."""
    return today - timedelta(days=1), today + timedelta(days=ahead_days)


def retention_cutoff(today: date, retention_days: int) -> date | None:
    """Days before the returned one are dropped; None keeps everything (``RETENTION_DAYS=0``)."""
    if retention_days <= 0:
        return None
    return today - timedelta(days=retention_days)


def sweepable_days(days: list[date], cutoff: date | None) -> list[date]:
    """Days with rows in a default partition that deserve their own partition (not those retention drops)."""
    return [d for d in days if cutoff is None or d >= cutoff]


def due(last_run: float | None, now: float, interval_s: float) -> bool:
    return last_run is None or now - last_run >= interval_s


def rounds_healthy(leader: bool, last_success: float | None, now: float, interval_s: float) -> bool:
    """The leader must have finished a round recently; a standby has nothing to prove."""
    if not leader:
        return True
    return last_success is not None and now - last_success <= max(30.0, 10 * interval_s)
