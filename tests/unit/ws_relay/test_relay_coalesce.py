"""What a client receives: snapshot, coalesced updates, catch-up after skipped rounds, viewport changes."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ws_relay.coalesce import ClientView, Tick, snapshot
from ws_relay.geo import BBox, make_bbox
from ws_relay.protocol import LAZY_POINTS, Frame, LazyFrame
from ws_relay.table import LatestTable


def put(table: LatestTable, vid: str, ts: int, lon: float, lat: float = 0.0) -> None:
    point = {"vehicle_id": vid, "ts": ts, "lon": lon, "lat": lat}
    table.apply(vid, lon, lat, ts, orjson.dumps(point), seen_ms=0)


def decode(frame: Frame | None) -> tuple[str, dict[str, dict]] | None:
    if frame is None:
        return None
    body = orjson.loads(b"".join(frame.fragments()) if isinstance(frame, LazyFrame) else frame)
    vids = [p["vehicle_id"] for p in body["vehicles"]]
    assert len(vids) == len(set(vids)), "a frame holds one point per vehicle"
    return body["type"], {p["vehicle_id"]: p for p in body["vehicles"]}


def test_snapshot_then_only_what_changed_latest_wins():
    table = LatestTable(100, 10**9)
    put(table, "a", 1, 1.0)
    put(table, "b", 1, 2.0)
    view = ClientView()
    assert decode(snapshot(table, view)) == (
        "snapshot",
        {
            "a": {"vehicle_id": "a", "ts": 1, "lon": 1.0, "lat": 0.0},
            "b": {"vehicle_id": "b", "ts": 1, "lon": 2.0, "lat": 0.0},
        },
    )
    since = table.seq
    put(table, "a", 2, 1.1)
    put(table, "a", 3, 1.2)
    put(table, "a", 4, 1.3)
    tick = Tick(table, since)
    kind, points = decode(tick.frame_for(view))
    assert kind == "update"
    assert points == {"a": {"vehicle_id": "a", "ts": 4, "lon": 1.3, "lat": 0.0}}
    assert tick.frame_for(view) is None  # already sent this round
    assert Tick(table, tick.head).frame_for(view) is None  # nothing new: no empty frames


def test_a_big_fleet_is_sent_lazily_and_shared_by_clients_without_viewport():
    table = LatestTable(10 * LAZY_POINTS, 10**9)
    for i in range(3 * LAZY_POINTS):
        put(table, f"v{i}", 1, 0.0)
    view = ClientView()
    snap = snapshot(table, view)
    assert isinstance(snap, LazyFrame)
    assert len(decode(snap)[1]) == 3 * LAZY_POINTS
    other = ClientView(last_seq=view.last_seq)
    since = table.seq
    for i in range(2 * LAZY_POINTS):
        put(table, f"v{i}", 2, 1.0)
    tick = Tick(table, since)
    mass_update = tick.frame_for(view)
    assert isinstance(mass_update, LazyFrame)
    assert tick.frame_for(other) is mass_update
    assert {p["ts"] for p in decode(mass_update)[1].values()} == {2}


def test_empty_table_snapshot_is_an_empty_list():
    assert orjson.loads(snapshot(LatestTable(1, 1), ClientView())) == {"type": "snapshot", "vehicles": []}


def test_clients_without_viewport_share_one_encoded_frame():
    table = LatestTable(100, 10**9)
    one, two = ClientView(), ClientView()
    snapshot(table, one)
    snapshot(table, two)
    since = table.seq
    put(table, "a", 1, 0.0)
    tick = Tick(table, since)
    first = tick.frame_for(one)
    assert first is not None
    assert tick.frame_for(two) is first


def test_clients_on_the_same_viewport_share_one_filtered_frame():
    table = LatestTable(100, 10**9)
    views = [
        ClientView(bbox=BBox(0, 0, 10, 10)),
        ClientView(bbox=BBox(0, 0, 10, 10)),
        ClientView(BBox(20, 0, 30, 10)),
    ]
    for view in views:
        snapshot(table, view)
    since = table.seq
    put(table, "a", 1, 5.0, 5.0)
    put(table, "b", 1, 25.0, 5.0)
    tick = Tick(table, since)
    first, second, third = (tick.frame_for(v) for v in views)
    assert second is first
    assert sorted(decode(first)[1]) == ["a"]
    assert sorted(decode(third)[1]) == ["b"]


def test_viewport_filters_updates():
    table = LatestTable(100, 10**9)
    view = ClientView(bbox=BBox(170, -10, -170, 10))
    snapshot(table, view)
    since = table.seq
    put(table, "east", 1, 175.0)
    put(table, "west", 1, -175.0)
    put(table, "paris", 1, 2.35, 48.85)
    _, points = decode(Tick(table, since).frame_for(view))
    assert sorted(points) == ["east", "west"]
    since = table.seq
    put(table, "paris", 2, 2.36, 48.86)
    assert Tick(table, since).frame_for(view) is None


def test_new_viewport_resends_every_vehicle_inside_it_even_unmoved_ones():
    table = LatestTable(100, 10**9)
    put(table, "paris", 1, 2.35, 48.85)
    put(table, "tokyo", 1, 139.7, 35.7)
    view = ClientView(bbox=BBox(-10, 35, 20, 60))
    assert sorted(decode(snapshot(table, view))[1]) == ["paris"]
    view.set_viewport(BBox(130, 30, 150, 40))
    kind, points = decode(Tick(table, table.seq).frame_for(view))
    assert (kind, sorted(points)) == ("update", ["tokyo"])
    view.set_viewport(None)
    assert sorted(decode(Tick(table, table.seq).frame_for(view))[1]) == ["paris", "tokyo"]


def test_a_client_that_missed_rounds_gets_everything_it_missed_once():
    table = LatestTable(100, 10**9)
    slow, fast = ClientView(), ClientView()
    snapshot(table, slow)
    snapshot(table, fast)
    since = table.seq
    for round_no in range(5):
        put(table, f"v{round_no}", round_no, float(round_no))
        put(table, "shared", round_no, float(round_no))
        tick = Tick(table, since)
        assert decode(tick.frame_for(fast))[1].keys() == {f"v{round_no}", "shared"}
        assert tick.behind(slow)  # skipped: its socket is still busy
        since = tick.head
    tick = Tick(table, since)
    _, points = decode(tick.frame_for(slow))
    assert sorted(points) == ["shared", "v0", "v1", "v2", "v3", "v4"]
    assert points["shared"]["ts"] == 4
    assert not tick.behind(slow)


vehicles = st.sampled_from([f"v{i}" for i in range(6)])
lon = st.integers(-180, 180).map(float)
lat = st.integers(-90, 90).map(float)
boxes = st.one_of(
    st.none(),
    st.tuples(lon, lat, lon, lat).map(lambda b: make_bbox(b[0], min(b[1], b[3]), b[2], max(b[1], b[3]))),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("point"), vehicles, st.integers(0, 30), lon, lat),
        st.tuples(st.just("tick"), st.booleans()),  # True: the client's socket is busy, skip it
        st.tuples(st.just("viewport"), boxes),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)  # a shared, loaded CI machine: no per-example deadline
@given(boxes, steps)
def test_frames_always_converge_to_the_table_inside_the_viewport(initial, script):
    """Whatever the interleaving of points, rounds, skipped rounds and viewport changes, applying the
    frames a client got in order leaves it with the latest point of every vehicle inside its viewport."""
    table = LatestTable(100, 10**9)
    view = ClientView(bbox=initial)
    known: dict[str, dict] = dict(decode(snapshot(table, view))[1])
    since = table.seq
    for step in [*script, ("tick", False)]:
        if step[0] == "point":
            _, vid, ts, x, y = step
            put(table, vid, ts, x, y)
        elif step[0] == "viewport":
            view.set_viewport(step[1])
        else:
            tick = Tick(table, since)
            if not step[1]:
                got = decode(tick.frame_for(view))
                if got is not None:
                    assert got[0] == "update"
                    known.update(got[1])
            since = tick.head
    for entry in table.entries():
        point = orjson.loads(entry.json)
        if view.bbox is None or view.bbox.contains(entry.lon, entry.lat):
            assert known.get(point["vehicle_id"]) == point
