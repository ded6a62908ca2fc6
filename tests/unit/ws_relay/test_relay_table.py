"""The latest-position table: newest event time wins, changes are a suffix, memory is bounded."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ws_relay.table import LatestTable, Outcome
from ws_relay.tiles import tile_of


def put(table: LatestTable, vid: str, ts: int, lon: float = 0.0, lat: float = 0.0, seen: int = 0) -> Outcome:
    return table.apply(vid, lon, lat, ts, f'{{"vehicle_id":"{vid}","ts":{ts}}}'.encode(), seen)


def test_latest_event_time_wins():
    table = LatestTable(10, ttl_ms=60_000)
    assert put(table, "a", 100, lon=1) is Outcome.APPLIED
    assert put(table, "a", 200, lon=2) is Outcome.APPLIED
    assert put(table, "a", 150, lon=3) is Outcome.STALE
    assert table.get("a").lon == 2
    assert put(table, "a", 200, lon=4) is Outcome.APPLIED  # same time: the later record corrects it
    assert table.get("a").lon == 4
    assert len(table) == 1


def test_stale_point_changes_nothing_a_client_would_see():
    table = LatestTable(10, ttl_ms=60_000)
    put(table, "a", 100)
    put(table, "b", 100)
    seq = table.seq
    put(table, "a", 50)
    assert table.seq == seq
    assert table.changes_since(seq) == []
    assert next(iter(table.entries())).json.startswith(b'{"vehicle_id":"a"')


def test_changes_since_is_one_entry_per_changed_vehicle_newest_first():
    table = LatestTable(10, ttl_ms=60_000)
    for vid in "abc":
        put(table, vid, 1)
    mark = table.seq
    put(table, "b", 2)
    put(table, "a", 2)
    put(table, "b", 3)
    changed = table.changes_since(mark)
    assert [(e.json.decode()[15], e.ts) for e in changed] == [("b", 3), ("a", 2)]
    assert table.changes_since(table.seq) == []
    assert len(table.changes_since(0)) == 3


def test_capacity_evicts_the_least_recently_updated_vehicle():
    table = LatestTable(3, ttl_ms=60_000)
    for vid in "abc":
        put(table, vid, 1)
    put(table, "a", 2)  # a is now the freshest
    put(table, "d", 1)
    assert "b" not in table
    assert {"a", "c", "d"} == {v for v in "abcd" if v in table}
    assert table.evicted == 1


def test_prune_drops_vehicles_not_heard_from_within_the_ttl():
    table = LatestTable(10, ttl_ms=1_000)
    put(table, "old", 1, seen=1_000)
    put(table, "mid", 1, seen=5_000)
    put(table, "new", 1, seen=9_000)
    assert table.prune(now_ms=6_500) == 2
    assert [v for v in ("old", "mid", "new") if v in table] == ["new"]
    assert table.prune(now_ms=6_500) == 0
    put(table, "new", 2, seen=20_000)
    assert table.prune(now_ms=20_500) == 0


ops = st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 20)), max_size=80)


@settings(deadline=None)
@given(ops, st.integers(0, 80))
def test_changes_since_equals_a_replay(operations, cut):
    """Against a plain model: the latest point per vehicle, and which vehicles changed after a cut."""
    table = LatestTable(100, ttl_ms=10**9)
    model: dict[str, int] = {}
    changed_after_cut: set[str] = set()
    mark = 0
    for i, (vid, ts) in enumerate(operations):
        if i == cut:
            mark = table.seq
            changed_after_cut = set()
        if vid not in model or ts >= model[vid]:
            model[vid] = ts
            changed_after_cut.add(vid)
        put(table, vid, ts)
    if cut >= len(operations):
        mark, changed_after_cut = table.seq, set()
    assert {vid: table.get(vid).ts for vid in model} == model
    changed = table.changes_since(mark)
    assert {e.json.decode().split('"')[3] for e in changed} == changed_after_cut
    assert len(changed) == len(changed_after_cut)


def test_moves_since_tell_where_each_vehicle_was_then():
    table = LatestTable(10, ttl_ms=1_000)
    put(table, "a", 1, lon=1.0)
    put(table, "b", 1, lon=2.0, seen=0)
    mark = table.seq
    put(table, "a", 2, lon=1.5)
    put(table, "a", 3, lon=1.7)
    put(table, "c", 1, lon=3.0, seen=5_000)
    table.prune(now_ms=4_000)  # b expires
    moves = table.moves_since(mark)
    assert {vid: move.lon for vid, move in moves.items() if vid != "c"} == {"a": 1.0, "b": 2.0}
    assert math.isnan(moves["c"].lon)  # new since the mark
    assert "b" not in table


def test_history_is_forgotten_up_to_what_clients_need_and_bounded():
    table = LatestTable(10, ttl_ms=10**9, history_limit=1_000)
    for ts in range(1_500):
        put(table, "a", ts)
    assert table.history_size() == 1_000
    assert table.moves_since(0) is None  # that far back is gone
    assert table.moves_since(table.seq - 10) is not None
    table.forget_history(table.seq - 5)
    assert table.history_size() == 5
    assert table.moves_since(table.seq - 6) is None
    assert set(table.moves_since(table.seq - 5)) == {"a"}


def test_the_spatial_index_follows_every_move():
    table = LatestTable(10, ttl_ms=10**9)
    put(table, "paris", 1, lon=2.35, lat=48.85)
    put(table, "tokyo", 1, lon=139.7, lat=35.7)
    europe, paris_tile = tile_of(2.35, 48.85, 3), tile_of(2.35, 48.85, 12)
    assert [e.vehicle_id for e in table.in_tile(europe)] == ["paris"]
    assert [e.vehicle_id for e in table.in_tile(paris_tile)] == ["paris"]
    assert {e.vehicle_id for e in table.in_tile(tile_of(0, 0, 0))} == {"paris", "tokyo"}
    put(table, "paris", 2, lon=139.71, lat=35.71)
    assert list(table.in_tile(europe)) == []
    assert {e.vehicle_id for e in table.in_tile(tile_of(139.7, 35.7, 5))} == {"paris", "tokyo"}
