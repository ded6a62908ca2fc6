"""The dataset loader's parsing, grouping and batching (no I/O but reading the corpus)."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.sources.corpus_check import assert_same_points

from dataset_loader.reader import DatasetError, batch_item, batches, group_by_vehicle, parse_dataset
from geostream import contracts

NOW = 1_760_000_000_000
DAY_MS = 86_400_000


def parse(text: str):
    return parse_dataset(text, now_ms=NOW, max_future_ms=DAY_MS)


@pytest.mark.parametrize("name", ["opensky_states.json", "opensky_states_17col.json"])
def test_opensky_corpus(realclients, name):
    expected = json.loads((realclients / "opensky_expected.json").read_text())
    dataset = parse((realclients / name).read_text())
    assert (dataset.format, dataset.snapshots, dataset.invalid) == ("opensky", 1, [])
    assert_same_points([r["point"] for r in expected["rows"] if r["action"] == "accept"], dataset.points)
    assert dataset.without_position == 1


def test_null_states(realclients):
    dataset = parse((realclients / "opensky_states_null.json").read_text())
    assert (dataset.format, dataset.snapshots, dataset.points) == ("opensky", 1, [])


def snapshot(time: int, rows: list) -> dict:
    return {"time": time, "states": rows}


def row(icao: str, t: int, lon: float, lat: float, alt: float | None = 1000.0) -> list:
    return [icao, "CALL1   ", "X", t, t, lon, lat, alt, False, 100.0, 90.0, 0.0, None, alt, "1000", False, 0]


def test_snapshots_as_json_lines_and_as_array_make_trajectories():
    docs = [
        snapshot(
            1_700_000_010, [row("aaaaaa", 1_700_000_009, 1.0, 2.0), row("bbbbbb", 1_700_000_005, 3.0, 4.0)]
        ),
        # bbbbbb has no newer position report: the same point again, kept once.
        snapshot(
            1_700_000_020, [row("aaaaaa", 1_700_000_019, 1.1, 2.0), row("bbbbbb", 1_700_000_005, 3.0, 4.0)]
        ),
    ]
    for text in ("\n".join(json.dumps(d) for d in docs) + "\n", json.dumps(docs)):
        dataset = parse(text)
        assert dataset.snapshots == 2
        tracks = group_by_vehicle(dataset.points)
        assert [p["ts"] for p in tracks["aaaaaa"]] == [1_700_000_009_000, 1_700_000_019_000]
        assert len(tracks["bbbbbb"]) == 1


def test_batch_format_file():
    items = [
        {
            "vehicleID": "plane-001",
            "path": [[1.1543, 56.74, 300], [1.1643, 56.84]],
            "timestamps": [1693564800, 1693568400],
        }
    ]
    for text in (json.dumps(items), "\n".join(json.dumps(i) for i in items)):
        dataset = parse(text)
        assert dataset.format == "batch"
        assert [(p["ts"], p.get("alt")) for p in dataset.points] == [
            (1693564800000, 300.0),
            (1693568400000, None),
        ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no JSON document"),
        ("not json", "line 1: not JSON"),
        ('{"a": 1}', "not a dataset"),
        ("[1, 2]", "not a dataset"),
    ],
)
def test_unreadable_files(text, reason):
    with pytest.raises(DatasetError, match=reason):
        parse(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"time": 1, "states": []}\nnot json', "line 3: not JSON"),
        ('[{"vehicleID": "x", "path": [[200, 1]], "timestamps": [1700000000]}]', "batch item 2: path[0][0]"),
        ('{"time": 1, "states": 5}', "snapshot 1"),
        ('{"time": 1, "states": [["abc", null, "x", 1e308, 0, 1.0, 2.0]]}', "time_position"),
        ('{"time": 1, "states": [["a\\u0000b", null, "x", 1700000000, 0, 1.0, 2.0]]}', "U+0000"),
        ('{"vehicleID": "x\\u0000", "path": [[1, 1]], "timestamps": [1700000000]}', "U+0000"),
        ('{"vehicleID": "x", "path": [[1, 1]], "timestamps": [0]}', "floor"),
    ],
)
def test_malformed_records_are_skipped_with_their_reason(text, reason):
    good = '{"vehicleID": "ok-1", "path": [[1, 1]], "timestamps": [1700000000]}'
    dataset = parse(f"{good}\n{text}")
    assert [p["vehicle_id"] for p in dataset.points] == ["ok-1"]
    assert len(dataset.invalid) == 1 and reason in dataset.invalid[0], dataset.invalid


JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
STATE_ROW = st.lists(JSONISH, min_size=0, max_size=18)
DOCUMENT = st.one_of(
    JSONISH,
    st.fixed_dictionaries({"time": JSONISH, "states": st.one_of(st.none(), st.lists(STATE_ROW, max_size=4))}),
    st.fixed_dictionaries({"vehicleID": JSONISH, "path": JSONISH, "timestamps": JSONISH}),
)


@given(st.lists(DOCUMENT, max_size=6), st.booleans())
def test_any_file_is_points_and_reasons_never_a_crash(docs, as_lines):
    text = "\n".join(orjson.dumps(d).decode() for d in docs) if as_lines else orjson.dumps(docs).decode()
    try:
        dataset = parse(text)
    except DatasetError:
        return
    for point in dataset.points:
        contracts.check("locations_topic", point)


def test_batch_item_keeps_altitude_when_known():
    points = [
        {"vehicle_id": "v", "ts": 1, "lon": 1.0, "lat": 2.0, "alt": 30.0, "speed": 5.0},
        {"vehicle_id": "v", "ts": 2, "lon": 1.5, "lat": 2.5},
    ]
    assert batch_item("v", points) == {
        "vehicleID": "v",
        "path": [[1.0, 2.0, 30.0], [1.5, 2.5]],
        "timestamps": [1, 2],
    }


def test_batches_respect_object_and_point_limits():
    tracks = {
        f"v{i}": [{"ts": t, "lon": 0.0, "lat": 0.0} for t in range(n)] for i, n in enumerate([3, 7, 2, 2, 1])
    }
    out = list(batches(tracks, batch_size=2, max_points=4))
    assert all(len(b) <= 2 and sum(len(i["timestamps"]) for i in b) <= 4 for b in out)
    # Every point once, a vehicle's points in time order across its chunks.
    sent = [(i["vehicleID"], t) for b in out for i in b for t in i["timestamps"]]
    assert sent == [(vid, p["ts"]) for vid, track in tracks.items() for p in track]
    assert orjson.dumps(out)  # serialisable as the request body


def test_json_lines_split_on_newline_only():
    """U+2028 inside a JSON string is legal unescaped: it must not cut the document in two."""
    from dataset_loader.reader import parse_dataset

    poison = '{"vehicleID": "junk\u2028id", "path": 7}'
    good = '{"vehicleID": "ok-1", "path": [[2.35, 48.85]], "timestamps": [1700000000]}'
    dataset = parse_dataset(poison + "\n" + good, now_ms=1_700_000_100_000, max_future_ms=300_000)
    assert [p["vehicle_id"] for p in dataset.points] == ["ok-1"]
    assert len(dataset.invalid) == 1
