import pytest

from trips_api import params

NOW = 1_700_000_000_000


def test_window_defaults_to_the_last_hour_and_accepts_iso_and_epoch():
    assert params.window({}, NOW, 31) == params.Window(NOW - 3_600_000, NOW)
    win = params.window({"start": "2023-09-01T10:40:00Z", "end": "1693568400"}, NOW, 31)
    assert win == params.Window(1693564800000, 1693568400000)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "soon"}, "end"),
        ({"start": "2023-09-02T00:00:00Z", "end": "2023-09-01T00:00:00Z"}, "start"),
        ({"start": "2023-01-01T00:00:00Z", "end": "2023-09-01T00:00:00Z"}, "end"),
    ],
)
def test_bad_windows_name_the_field(args, field):
    with pytest.raises(params.ParamError) as info:
        params.window(args, NOW, 31)
    assert [e.field for e in info.value.errors] == [field]


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ({"limit": "0"}, ["limit"]),
        ({"limit": "5000"}, ["limit"]),
        ({"limit": "ten", "offset": "-1"}, ["limit", "offset"]),
    ],
)
def test_bad_pages(args, fields):
    with pytest.raises(params.ParamError) as info:
        params.page(args, 100, 1000)
    assert [e.field for e in info.value.errors] == fields


def test_page_defaults():
    assert params.page({}, 100, 1000) == params.Page(100, 0)


@pytest.mark.parametrize(
    "raw", ["1,2,3", "a,b,c,d", "0,0,181,1", "0,91,1,92", "10,0,5,1", "0,5,1,2", "nan,0,1,1", "inf,0,1,1"]
)
def test_bad_bboxes(raw):
    with pytest.raises(params.ParamError) as info:
        params.bbox({"bbox": raw})
    assert info.value.errors[0].field == "bbox"


def test_bbox_and_polygon():
    assert params.bbox({"bbox": "2.2,48.8,2.5,48.95"}) == (2.2, 48.8, 2.5, 48.95)
    ring = [[2, 48], [3, 48], [3, 49], [2, 48]]
    assert '"Polygon"' in params.polygon({"polygon": f'{{"type":"Polygon","coordinates":[{ring}]}}'})
    bad_polygons = [
        "{",
        '{"type":"Point","coordinates":[1,2]}',
        '{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}',
        '{"type":"Polygon","coordinates":[[[0,0],[1,95],[2,2],[0,0]]]}',
    ]
    for bad in bad_polygons:
        with pytest.raises(params.ParamError):
            params.polygon({"polygon": bad})


def test_collect_reports_every_problem():
    with pytest.raises(params.ParamError) as info:
        params.collect(lambda: params.page({"limit": "x"}, 1, 2), lambda: params.bbox({"bbox": "1"}))
    assert [e.field for e in info.value.errors] == ["limit", "bbox"]
