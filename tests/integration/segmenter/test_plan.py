"""The segmenter's pure decisions."""

from __future__ import annotations

from datetime import date

from segmenter import plan


def test_partition_window_covers_yesterday_to_days_ahead():
    assert plan.partition_window(date(2026, 3, 1), 3) == (date(2026, 2, 28), date(2026, 3, 4))


def test_retention_cutoff():
    assert plan.retention_cutoff(date(2026, 3, 31), 30) == date(2026, 3, 1)
    assert plan.retention_cutoff(date(2026, 3, 31), 0) is None


def test_only_retained_days_are_swept_out_of_the_default_partition():
    days = [date(2026, 1, 1), date(2026, 2, 15), date(2026, 3, 2)]
    assert plan.sweepable_days(days, date(2026, 2, 1)) == days[1:]
    assert plan.sweepable_days(days, None) == days


def test_a_full_round_means_backlog():
    assert plan.RoundResult(claimed=500, vehicles=3, stored=9, removed=0).backlogged(500)
    assert not plan.RoundResult(claimed=499, vehicles=3, stored=9, removed=0).backlogged(500)


def test_rounds_health():
    assert plan.rounds_healthy(False, None, 100.0, 1.0)  # a standby has nothing to prove
    assert not plan.rounds_healthy(True, None, 100.0, 1.0)
    assert plan.rounds_healthy(True, 80.0, 100.0, 1.0)
    assert not plan.rounds_healthy(True, 60.0, 100.0, 1.0)
    assert plan.due(None, 5.0, 60.0) and plan.due(0.0, 60.0, 60.0) and not plan.due(10.0, 60.0, 60.0)
