"""Subscription tiles: the grid, covering a viewport, the antimeridian split into two boxes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ws_relay.geo import BBox, make_bbox
from ws_relay.tiles import MAX_LEVEL, MAX_TILES, Tile, cover, tile_of


def test_grid_edges():
    assert tile_of(-180, -90, 3) == Tile(3, 0, 0)
    assert tile_of(180, 90, 3) == Tile(3, 7, 7)  # the last column and row hold the edges
    assert tile_of(0, 0, 1) == Tile(1, 1, 1)
    assert Tile(0, 0, 0).bounds() == (-180, -90, 180, 90)
    assert Tile(1, 1, 0).bounds() == (0, -90, 180, 0)


def test_parents_and_children():
    tile = Tile(3, 5, 2)
    assert all(child.ancestor(3) == tile and tile.holds(child) for child in tile.children())
    assert tile.holds(tile) and not tile.holds(Tile(2, 2, 1)) and not tile.holds(Tile(4, 0, 0))


def test_the_world_is_a_few_tiles_whatever_the_pan():
    world = cover(None)
    assert len(world) <= MAX_TILES
    assert cover(BBox(-180, -90, 180, 90)) == world
    assert cover(make_bbox(-400, -85, 300, 85)) == cover(make_bbox(-300, -85, 400, 85))


def test_a_city_gets_fine_tiles():
    paris = cover(BBox(2.25, 48.8, 2.45, 48.9))
    assert 1 <= len(paris) <= MAX_TILES
    assert min(t.level for t in paris) >= 9
    assert all(tile.contains(2.35, 48.85) for tile in paris if tile.contains(2.35, 48.85))


def test_the_antimeridian_box_is_two_boxes_not_everything():
    tiles = cover(BBox(170, -10, -170, 10))
    assert len(tiles) <= MAX_TILES
    lons = [(t.bounds()[0], t.bounds()[2]) for t in tiles]
    assert all(w >= 90 or e <= -90 for w, e in lons), lons  # only tiles near the date line
    assert any(w >= 90 for w, _ in lons) and any(e <= -90 for _, e in lons)
    for lon in (175.0, -175.0, 180.0, -180.0):
        assert any(t.contains(lon, 0) for t in tiles)
    assert not any(t.contains(0.0, 0.0) for t in tiles)


def test_the_maps_zoom_caps_the_level():
    box = BBox(2.25, 48.8, 2.45, 48.9)
    assert {t.level for t in cover(box, zoom=4.7)} == {4}
    assert cover(box, zoom=22) == cover(box)


lons = st.integers(-180, 180).map(float)
lats = st.integers(-90, 90).map(float)


@settings(deadline=None, max_examples=300)
@given(lons, lats, lons, lats, lons, lats)
def test_the_tiles_cover_every_point_of_the_box(w, s, e, n, lon, lat):
    box = make_bbox(w, min(s, n), e, max(s, n))
    tiles = cover(box)
    assert len(tiles) <= MAX_TILES or {t.level for t in tiles} == {0}
    assert len({t.level for t in tiles}) == 1 and 0 <= next(iter(tiles)).level <= MAX_LEVEL
    if box.contains(lon, lat):
        assert any(t.contains(lon, lat) for t in tiles)
