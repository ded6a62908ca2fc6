"""Viewports: parsing, longitude wrapping, the antimeridian, and selection agreeing with ``contains``."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ws_relay.geo import BBox, BBoxError, bbox_from_path, make_bbox, parse_bbox, select, wrap_lon
from ws_relay.table import Entry


def entry(lon: float, lat: float, name: str = "v") -> Entry:
    return Entry(0, lon, lat, 0, 0, f'{{"vehicle_id":"{name}"}}'.encode())


def test_plain_box():
    box = parse_bbox([2.0, 48.0, 3.0, 49.0])
    assert box == BBox(2.0, 48.0, 3.0, 49.0)
    assert not box.crosses_antimeridian
    assert box.contains(2.5, 48.5)
    assert box.contains(2.0, 49.0)  # edges are inside
    assert not box.contains(3.5, 48.5)
    assert not box.contains(2.5, 47.9)


def test_box_across_the_antimeridian():
    box = parse_bbox([170, -10, -170, 10])
    assert box == BBox(170.0, -10.0, -170.0, 10.0)
    assert box.crosses_antimeridian
    assert box.contains(175, 0)
    assert box.contains(-175, 0)
    assert box.contains(180, 0)
    assert box.contains(-180, 0)
    assert not box.contains(0, 0)
    assert not box.contains(160, 0)
    assert not box.contains(175, 11)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([160, 0, 200, 10], BBox(160.0, 0.0, -160.0, 10.0)),  # deck.gl east of the date line
        ([-200, 0, -160, 10], BBox(160.0, 0.0, -160.0, 10.0)),  # ... and west of it
        ([190, 0, 200, 10], BBox(-170.0, 0.0, -160.0, 10.0)),  # a whole box one world to the east
        ([-540, 0, -530, 10], BBox(180.0, 0.0, -170.0, 10.0)),  # edge on the antimeridian: both signs
        ([-180, -90, 180, 90], BBox(-180.0, -90.0, 180.0, 90.0)),
        ([-300, -20, 300, 20], BBox(-180.0, -20.0, 180.0, 20.0)),  # zoomed-out: wider than the world
        ([10, -95, 20, 95], BBox(10.0, -90.0, 20.0, 90.0)),  # latitudes clamped
        ([170, 0, 180, 1], BBox(170.0, 0.0, -180.0, 1.0)),
        ([-180, 0, -170, 1], BBox(180.0, 0.0, -170.0, 1.0)),
    ],
)
def test_normalisation(raw, expected):
    assert parse_bbox(raw) == expected


def test_the_antimeridian_is_one_meridian():
    for box in (parse_bbox([170, 0, 180, 1]), parse_bbox([-180, 0, -170, 1]), parse_bbox([-190, 0, -170, 1])):
        assert box.contains(180.0, 0.5)
        assert box.contains(-180.0, 0.5)
    assert not parse_bbox([170, 0, 180, 1]).contains(-175.0, 0.5)
    assert not parse_bbox([-180, 0, -170, 1]).contains(175.0, 0.5)


def test_null_means_everything():
    assert parse_bbox(None) is None
    entries = [entry(0, 0, "a"), entry(179, 80, "b")]
    assert select(entries, None) == [e.json for e in entries]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1, 2, 3], "bbox must be"),
        ("1,2,3,4", "bbox must be"),
        ({"minLon": 1}, "bbox must be"),
        ([1, 2, 3, "4"], "maxLat must be a number"),
        ([True, 2, 3, 4], "minLon must be a number"),
        ([1, None, 3, 4], "minLat must be a number"),
        ([1, 2, math.inf, 4], "maxLon must be finite"),
        ([1, math.nan, 3, 4], "minLat must be finite"),
        ([1, 10, 3, 5], "minLat must not be greater than maxLat"),
        ([1, 91, 3, 95], "latitudes must overlap"),
    ],
)
def test_invalid_boxes(raw, message):
    with pytest.raises(BBoxError, match=message):
        parse_bbox(raw)


def test_select_matches_contains_on_both_kinds_of_box():
    grid = [entry(lon, lat, f"{lon},{lat}") for lon in range(-180, 181, 5) for lat in range(-90, 91, 5)]
    for box in (BBox(-10, -10, 10, 10), BBox(170, -20, -170, 20), BBox(-180, -90, 180, 90)):
        selected = set(box.select(grid))
        assert selected == {e.json for e in grid if box.contains(e.lon, e.lat)}
        assert selected


def test_wrap_lon():
    assert wrap_lon(180.0) == 180.0
    assert wrap_lon(-180.0) == -180.0
    assert wrap_lon(181.0) == -179.0
    assert wrap_lon(-181.0) == 179.0
    assert wrap_lon(540.0) == -180.0
    assert wrap_lon(725.5) == 5.5


def test_bbox_in_connection_url():
    assert bbox_from_path("/") is None
    assert bbox_from_path("/?foo=1") is None
    assert bbox_from_path("/?bbox=170,-10,-170,10") == BBox(170, -10, -170, 10)
    assert bbox_from_path("/live?bbox=2.1,48.5,2.6,49.0&x=1") == BBox(2.1, 48.5, 2.6, 49.0)
    for bad in ("/?bbox=1,2,3", "/?bbox=a,b,c,d", "/?bbox=1,9,3,4"):
        with pytest.raises(BBoxError):
            bbox_from_path(bad)


lons = st.integers(-720, 720).map(float)
lats = st.integers(-90, 90).map(float)


@settings(deadline=None)
@given(lons, lons, lats, lats, st.integers(-180, 180).map(float), lats)
def test_contains_is_the_eastward_arc_from_the_western_edge(west, east, lat1, lat2, lon, lat):
    """Integer degrees keep the property exact: a point is inside when it lies on the eastward arc of
    the box's width starting at its western edge (modulo 360), and between its latitudes."""
    south, north = sorted((lat1, lat2))
    width = east - west if east >= west else east - west + 360
    box = make_bbox(west, south, east, north)
    if width >= 360:
        on_arc = True
    else:
        assume(width > 0)
        on_arc = (lon - west) % 360 <= width
    assert box.contains(lon, lat) == (on_arc and south <= lat <= north)
    assert -180 <= box.min_lon <= 180
    assert -180 <= box.max_lon <= 180
