"""OpenSky states/all mapper against the corpus' expected points."""

from __future__ import annotations

import json

import pytest
from unit.sources.corpus_check import assert_same_points

from geostream import contracts
from geostream.sources import RejectError, opensky

NOW = 1_760_000_000_000


@pytest.mark.parametrize("name", ["opensky_states.json", "opensky_states_17col.json"])
def test_corpus(realclients, name):
    expected = json.loads((realclients / "opensky_expected.json").read_text())
    result = opensky.snapshot(json.loads((realclients / name).read_text()), now_ms=NOW)
    want = [row["point"] for row in expected["rows"] if row["action"] == "accept"]
    assert_same_points(want, result.points)
    assert result.without_position == sum(row["action"] == "ignore" for row in expected["rows"])
    assert result.invalid == []
    assert result.time == 1507198220
    for point in result.points:
        contracts.check("locations_topic", point)
        assert point["source"] == "dataset"


def test_null_states_is_no_aircraft(realclients):
    result = opensky.snapshot(json.loads((realclients / "opensky_states_null.json").read_text()), now_ms=NOW)
    assert (result.points, result.without_position, result.invalid) == ([], 0, [])


def test_bad_rows_are_reported_not_fatal():
    doc = {
        "time": 1_700_000_000,
        "states": [
            ["abc123", None, "X", 1_700_000_000, 1_700_000_000, 2.0, 95.0],
            "not a row",
            ["", None, "X", 1_700_000_000, 1_700_000_000, 2.0, 1.0],
            ["def456", None, "X", 1_700_000_000, 1_700_000_000, 2.0, 1.0],
        ],
    }
    result = opensky.snapshot(doc, now_ms=NOW)
    assert [p["vehicle_id"] for p in result.points] == ["def456"]
    assert set(result.points[0]) == {"vehicle_id", "ts", "lon", "lat", "source"}
    assert len(result.invalid) == 3
    assert "abc123: lat" in result.invalid[0]


@pytest.mark.parametrize("doc", [[], {"time": 1}, {"states": "x"}])
def test_not_a_states_document(doc):
    with pytest.raises(RejectError):
        opensky.snapshot(doc, now_ms=NOW)
