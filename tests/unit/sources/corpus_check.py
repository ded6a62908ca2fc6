"""Reading the real-client corpus (../shared/realclients) and comparing points by its rules.

vehicle_id and ts exact (``ts: null`` = the receive time, checked against a window), lon/lat to 1e-9,
every other number to 1e-3; null means the field is absent from the contract message.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

FIELDS = ("vehicle_id", "ts", "lon", "lat", "speed", "heading", "alt", "accuracy", "battery")
EXACT = 1e-9
LOOSE = 1e-3


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def case_ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["case"] for row in rows]


def expectation(row: dict[str, Any], with_key: bool) -> dict[str, Any]:
    """What the corpus expects of a service with or without the OwnTracks secret."""
    if with_key and "if_key_configured" in row["expect"]:
        return row["expect"]["if_key_configured"]
    return row["expect"]


def _order(point: dict[str, Any]) -> tuple[str, int, float, float]:
    # A receive-time point (ts null in the corpus) is newer than every fixed time in the corpus.
    ts = point.get("ts")
    return (point["vehicle_id"], 2**62 if ts is None else ts, point["lon"], point["lat"])


def assert_same_points(
    want: list[dict[str, Any]],
    got: list[dict[str, Any]],
    receive_window: tuple[int, int] | None = None,
) -> None:
    """``got`` (contract messages) match ``want`` (canonical corpus points), in any order."""
    assert len(got) == len(want), f"{len(got)} points, want {len(want)}: {got}"
    for w, g in zip(sorted(want, key=_order), sorted(got, key=_order), strict=True):
        for key in FIELDS:
            expected, actual = w.get(key), g.get(key)
            if key == "ts" and expected is None:
                assert receive_window is not None, "a receive-time point needs a window"
                low, high = receive_window
                assert low <= actual <= high, f"ts {actual} is not the receive time [{low}, {high}]"
                continue
            where = f"{w['vehicle_id']} {key}: want {expected!r}, got {actual!r}"
            if expected is None or isinstance(expected, str) or key == "ts":
                assert actual == expected, where
            else:
                assert actual is not None, where
                tolerance = EXACT if key in ("lon", "lat") else LOOSE
                assert math.isclose(actual, expected, rel_tol=0, abs_tol=tolerance), where


def check_every_case(rows: list[dict[str, Any]], check) -> None:
    """Run ``check(row)`` on every case and report every failing case at once, by name."""
    assert rows, "empty corpus file"
    failures = []
    for row in rows:
        try:
            check(row)
        except AssertionError as exc:
            failures.append(f"{row['case']}: {exc}")
    assert not failures, "\n".join(failures)
