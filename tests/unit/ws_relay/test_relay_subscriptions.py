"""Protocol v2 fan-out: tile subscriptions, pans, removes, shared frames, bounded snapshots, catch-up."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ws_relay.geo import BBox, make_bbox
from ws_relay.protocol_v2 import Format, decode_frame
from ws_relay.subscriptions import Round, Subscription
from ws_relay.table import LatestTable

PARIS = BBox(2.25, 48.8, 2.45, 48.9)
LYON = BBox(4.75, 45.7, 4.95, 45.8)
FRANCE = BBox(-5.0, 42.0, 8.0, 51.0)


def put(table: LatestTable, vid: str, lon: float, lat: float, ts: int = 1, seen: int = 0) -> None:
    point = {"vehicle_id": vid, "ts": ts, "lon": lon, "lat": lat}
    table.apply(vid, lon, lat, ts, orjson.dumps(point), seen)


class Map:
    """A v2 client's side: applies the frames it gets in order (snapshot/update upsert, remove deletes)."""

    def __init__(self, table: LatestTable, bbox: BBox | None, fmt: Format = Format.JSON):
        self.sub = Subscription.open(fmt, bbox, table.seq)
        self.vehicles: dict[str, dict] = {}
        self.frames: list[tuple[str, list[str]]] = []

    def receive(self, frames: list[bytes]) -> None:
        for raw in frames:
            if self.sub.fmt is Format.JSON:
                body = orjson.loads(raw)
                kind = body["type"]
                ids = body["ids"] if kind == "remove" else [p["vehicle_id"] for p in body["vehicles"]]
                points = [] if kind == "remove" else body["vehicles"]
            else:
                decoded = decode_frame(raw)
                kind = decoded.kind.name.lower()
                ids = [v["vehicle_id"] for v in decoded.vehicles]
                points = [] if kind == "remove" else [
                    {"vehicle_id": v["vehicle_id"], "ts": int(v["ts"]), "lon": v["lon"], "lat": v["lat"]}
                    for v in decoded.vehicles
                ]  # fmt: skip
            assert len(ids) == len(set(ids)), "one entry per vehicle per frame"
            self.frames.append((kind, ids))
            for vid in ids if kind == "remove" else ():
                self.vehicles.pop(vid, None)
            for p in points:
                self.vehicles[p["vehicle_id"]] = p


class Relay:
    def __init__(self, table: LatestTable, snapshot_points: int = 5000):
        self.table = table
        self.since = table.seq
        self.snapshot_points = snapshot_points
        self.rounds = 0

    def tick(self, *maps: Map, skip: tuple[Map, ...] = ()) -> Round:
        self.rounds += 1
        rnd = Round(
            self.table, self.since, server_time=1000 + self.rounds, snapshot_points=self.snapshot_points
        )
        for m in maps:
            if m not in skip and m.sub.behind(rnd.head):
                m.receive(rnd.frames_for(m.sub))
        self.since = rnd.head
        return rnd


def inside(table: LatestTable, sub: Subscription) -> dict[str, dict]:
    return {
        e.vehicle_id: orjson.loads(e.json)
        for e in table.entries()
        if any(t.contains(e.lon, e.lat) for t in sub.wanted)
    }


def test_first_round_sends_a_snapshot_of_the_viewport_tiles_only():
    table = LatestTable(100, 10**9)
    put(table, "paris", 2.35, 48.85)
    put(table, "lyon", 4.85, 45.75)
    relay, m = Relay(table), Map(table, PARIS)
    relay.tick(m)
    assert m.frames == [("snapshot", ["paris"])]
    relay.tick(m)
    assert len(m.frames) == 1  # nothing new, nothing sent


def test_an_empty_viewport_still_gets_one_empty_snapshot():
    table = LatestTable(100, 10**9)
    relay, m = Relay(table), Map(table, PARIS)
    relay.tick(m)
    assert m.frames == [("snapshot", [])]


def test_a_pan_sends_only_what_entered_and_removes_what_left():
    table = LatestTable(100, 10**9)
    for i in range(10):
        put(table, f"west{i}", -4.0 + i * 0.1, 47.0)
        put(table, f"east{i}", 6.0 + i * 0.1, 47.0)
    relay, m = Relay(table), Map(table, BBox(-5.0, 44.0, 1.0, 50.0))
    relay.tick(m)
    assert sorted(m.vehicles) == sorted(f"west{i}" for i in range(10))
    before = len(m.frames)
    m.sub.set_viewport(BBox(4.0, 44.0, 10.0, 50.0))
    relay.tick(m)
    kinds = dict(m.frames[before:])
    assert sorted(kinds["remove"]) == sorted(f"west{i}" for i in range(10))
    assert sorted(kinds["snapshot"]) == sorted(f"east{i}" for i in range(10))
    assert m.vehicles == inside(table, m.sub)
    # A small pan inside the same tiles sends nothing at all.
    before = len(m.frames)
    m.sub.set_viewport(BBox(4.01, 44.01, 10.01, 50.01))
    relay.tick(m)
    assert m.frames[before:] == []


def test_a_resize_sends_the_newly_covered_area_and_nothing_twice():
    table = LatestTable(100, 10**9)
    put(table, "centre", 2.0, 47.0)
    put(table, "edge", 7.5, 47.0)
    relay, m = Relay(table), Map(table, BBox(0.0, 45.0, 4.0, 49.0))
    relay.tick(m)
    assert set(m.vehicles) == {"centre"}
    before = len(m.frames)
    m.sub.set_viewport(BBox(-2.0, 44.0, 8.0, 50.0))  # a wider window, same centre
    relay.tick(m)
    removed = {vid for kind, ids in m.frames[before:] if kind == "remove" for vid in ids}
    upserted = {vid for kind, ids in m.frames[before:] if kind != "remove" for vid in ids}
    assert "edge" in upserted and "centre" not in removed  # the map never loses what stays in view
    assert set(m.vehicles) == {"centre", "edge"} and m.vehicles == inside(table, m.sub)


def test_at_world_zoom_a_pan_resends_nothing():
    table = LatestTable(1000, 10**9)
    for i in range(500):
        put(table, f"v{i}", -179 + i * 0.7, -60 + (i % 120))
    relay, m = Relay(table), Map(table, BBox(-180, -85, 180, 85))
    relay.tick(m)
    assert len(m.vehicles) == 500
    for west in (-200, -150, 10, 170):
        before = len(m.frames)
        m.sub.set_viewport(make_bbox(west, -85, west + 400, 85))
        relay.tick(m)
        assert m.frames[before:] == []


def test_zooming_in_keeps_what_the_client_holds_and_zooming_out_fills_the_rest():
    table = LatestTable(100, 10**9)
    put(table, "paris", 2.35, 48.85)
    put(table, "nantes", -1.55, 47.2)
    relay, m = Relay(table), Map(table, FRANCE)
    relay.tick(m)
    assert set(m.vehicles) == {"paris", "nantes"}
    before = len(m.frames)
    m.sub.set_viewport(PARIS)
    relay.tick(m)
    assert m.frames[before:] == [("remove", ["nantes"])]  # Paris is not sent again
    m.sub.set_viewport(FRANCE)
    relay.tick(m)
    assert set(m.vehicles) == {"paris", "nantes"}
    assert m.vehicles == inside(table, m.sub)


def test_moving_out_of_the_tiles_is_a_remove_and_moving_in_an_update():
    table = LatestTable(100, 10**9)
    put(table, "bus", 2.35, 48.85)
    relay, m = Relay(table), Map(table, PARIS)
    relay.tick(m)
    put(table, "bus", 4.85, 45.75, ts=2)  # to Lyon
    relay.tick(m)
    assert m.frames[-1] == ("remove", ["bus"])
    put(table, "bus", 2.36, 48.86, ts=3)  # and back
    relay.tick(m)
    assert m.frames[-1] == ("update", ["bus"])
    assert m.vehicles["bus"]["ts"] == 3


def test_expired_vehicles_are_removed():
    table = LatestTable(100, ttl_ms=1000)
    put(table, "old", 2.35, 48.85, seen=0)
    put(table, "new", 2.36, 48.85, seen=5000)
    relay, m = Relay(table), Map(table, PARIS)
    relay.tick(m)
    table.prune(now_ms=5500)
    relay.tick(m)
    assert m.frames[-1] == ("remove", ["old"])
    assert set(m.vehicles) == {"new"}


def test_clients_on_the_same_tiles_share_one_frame_object():
    table = LatestTable(100, 10**9)
    put(table, "paris", 2.35, 48.85)
    relay = Relay(table)
    maps = [Map(table, PARIS), Map(table, BBox(2.26, 48.81, 2.44, 48.89)), Map(table, LYON)]
    binary = Map(table, PARIS, Format.BIN)
    relay.tick(*maps, binary)
    put(table, "paris", 2.351, 48.851, ts=2)
    put(table, "lyon", 4.85, 45.75, ts=2)
    rnd = Round(table, relay.since, server_time=5)
    one, two, lyon, binary_frames = (rnd.frames_for(m.sub) for m in (*maps, binary))
    assert len(one) == 1 and one[0] is two[0]
    assert lyon[0] is not one[0]
    # The same tile block, in the other format: encoded once per format, whatever the client count.
    assert decode_frame(binary_frames[0]).vehicles[0]["vehicle_id"] == "paris"
    assert rnd.frames_for(binary.sub) == []  # already sent this round


def test_a_big_snapshot_goes_out_in_bounded_frames_and_pins_tiles_not_points():
    table = LatestTable(20_000, 10**9)
    for i in range(12_000):
        put(table, f"v{i}", 2.2 + (i % 100) * 0.003, 48.8 + (i // 100) * 0.001)
    relay, m = Relay(table, snapshot_points=1000), Map(table, None)
    rounds = 0
    while m.sub.behind(table.seq):
        relay.tick(m)
        rounds += 1
        assert all(isinstance(t, tuple) for t in m.sub.pending)  # references to tiles, not points
        assert rounds < 100
    sizes = [len(ids) for kind, ids in m.frames if kind == "snapshot"]
    assert max(sizes) <= 1000
    assert sum(sizes) == 12_000 and len(m.vehicles) == 12_000


def test_a_client_that_missed_rounds_catches_up_exactly():
    table = LatestTable(100, 10**9)
    put(table, "a", 2.35, 48.85)
    put(table, "b", 2.36, 48.85)
    relay, slow, fast = Relay(table), Map(table, PARIS), Map(table, PARIS)
    relay.tick(slow, fast)
    put(table, "a", 4.85, 45.75, ts=2)  # leaves
    relay.tick(slow, fast, skip=(slow,))
    put(table, "c", 2.37, 48.85, ts=2)  # arrives
    put(table, "a", 2.35, 48.86, ts=3)  # comes back
    put(table, "b", 4.85, 45.75, ts=3)  # leaves
    relay.tick(slow, fast, skip=(slow,))
    relay.tick(slow, fast)
    assert slow.vehicles == fast.vehicles == inside(table, slow.sub)
    assert set(slow.vehicles) == {"a", "c"}


vehicles = st.sampled_from([f"v{i}" for i in range(8)])
lon = st.integers(-180, 180).map(float)
lat = st.integers(-85, 85).map(float)
boxes = st.one_of(
    st.none(),
    st.tuples(lon, lat, lon, lat).map(lambda b: make_bbox(b[0], min(b[1], b[3]), b[2], max(b[1], b[3]))),
    st.sampled_from([PARIS, LYON, FRANCE, BBox(170, -10, -170, 10)]),
)
places = st.one_of(
    st.tuples(lon, lat), st.sampled_from([(2.35, 48.85), (4.85, 45.75), (179.5, 0.0), (-179.5, 0.0)])
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("point"), vehicles, st.integers(0, 30), places),
        st.tuples(st.just("tick"), st.booleans()),  # True: this client's socket is busy, skip it
        st.tuples(st.just("viewport"), boxes, st.one_of(st.none(), st.integers(0, 20))),
        st.tuples(st.just("expire"), st.integers(0, 40)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(boxes, steps, st.sampled_from([Format.JSON, Format.BIN]), st.integers(1, 4))
def test_a_map_always_converges_to_the_table_inside_its_tiles(initial, script, fmt, snapshot_points):
    """Whatever the interleaving of points, rounds, skipped rounds, expiry and viewport changes, a map
    that applies its frames in order ends with exactly the vehicles inside its tiles, each latest."""
    table = LatestTable(100, ttl_ms=10)
    relay = Relay(table, snapshot_points=snapshot_points)
    watcher = Map(table, None, Format.JSON)  # keeps up all along: its frames are the shared ones
    m = Map(table, initial, fmt)
    clock = 0
    for step in [*script, ("tick", False)]:
        if step[0] == "point":
            _, vid, ts, (x, y) = step
            clock += 1
            put(table, vid, x, y, ts, seen=clock)
        elif step[0] == "viewport":
            m.sub.set_viewport(step[1], step[2])
        elif step[0] == "expire":
            table.prune(now_ms=step[1])
        else:
            relay.tick(watcher, m, skip=(m,) if step[1] else ())
    for _ in range(100):
        if not (m.sub.behind(table.seq) or watcher.sub.behind(table.seq)):
            break
        relay.tick(watcher, m)
    expected = inside(table, m.sub)
    if fmt is Format.BIN:
        expected = {v: {k: p[k] for k in ("vehicle_id", "ts", "lon", "lat")} for v, p in expected.items()}
    assert m.vehicles == expected
    assert watcher.vehicles == inside(table, watcher.sub)
