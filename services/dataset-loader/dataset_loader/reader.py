"""Dataset files -> location points -> ingest batches. Pure functions over the file's text.

Accepted files:
- an OpenSky ``GET /api/states/all`` response ``{"time", "states": [...]}``, a JSON array of them, or
  several of them one per line (JSON Lines) - successive snapshots make trajectories;
- the ingest batch format ``[{"vehicleID", "path": [[lon, lat(, alt)], ...], "timestamps": [...]}]``,
  as one JSON array or one object per line.

Points are validated with the rules http-ingest applies (geostream.locations, same time window), so a
malformed line, row or item is skipped and reported here instead of failing a whole batch at the API.

The ingest batch format carries position, time and altitude (a path element's third value) only: an
OpenSky row's velocity and true_track do not survive the trip through the ingest API.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from geostream.locations import DEFAULT_MIN_TS_MS, BatchError, parse_batch
from geostream.sources import RejectError, opensky


class DatasetError(ValueError):
    pass


@dataclass
class Dataset:
    format: str
    points: list[dict[str, Any]] = field(default_factory=list)
    snapshots: int = 0
    without_position: int = 0
    invalid: list[str] = field(default_factory=list)
    """One reason per line, snapshot row or batch item that was skipped (the rest is still sent)."""


def _documents(text: str) -> tuple[list[Any], list[str]]:
    """The file's JSON documents (one document, or JSON Lines) and a reason per line that is not JSON."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        docs, bad = [], []
        # JSON Lines end at "\n" only: str.splitlines() would also cut at U+2028, U+2029 or U+0085,
        # which a JSON string may hold unescaped, and lose a whole valid document with its line.
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                docs.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                bad.append(f"line {number}: not JSON ({exc})")
        return docs, bad
    return (doc if isinstance(doc, list) else [doc]), []


def _is_batch_item(doc: Any) -> bool:
    return isinstance(doc, dict) and "path" in doc


def parse_dataset(
    text: str, *, now_ms: int, max_future_ms: int, min_ts_ms: int = DEFAULT_MIN_TS_MS
) -> Dataset:
    """Every valid point of the file; whatever is malformed (a line, a snapshot row, a batch item) is
    skipped with its reason in ``invalid``, so one bad record never stops a load. Raises
    :class:`DatasetError` only when the file holds nothing recognisable."""
    docs, bad_lines = _documents(text)
    if not docs:
        raise DatasetError(bad_lines[0] if bad_lines else "the file holds no JSON document")
    window = {"now_ms": now_ms, "max_future_ms": max_future_ms, "min_ts_ms": min_ts_ms}
    dataset = Dataset("opensky", invalid=list(bad_lines))
    batch_items = 0
    for number, doc in enumerate(docs, 1):
        if opensky.is_states_document(doc):
            dataset.snapshots += 1
            try:
                snapshot = opensky.snapshot(doc, **window)
            except RejectError as exc:
                dataset.invalid.append(f"snapshot {dataset.snapshots}: {exc.reason}")
                continue
            dataset.points += snapshot.points
            dataset.without_position += snapshot.without_position
            dataset.invalid += [f"snapshot {dataset.snapshots}: {reason}" for reason in snapshot.invalid]
            continue
        for item in doc if isinstance(doc, list) else [doc]:
            if not _is_batch_item(item):
                dataset.invalid.append(f"document {number}: neither an OpenSky snapshot nor a batch item")
                continue
            batch_items += 1
            try:
                batch = parse_batch([item], max_points=10**9, source="dataset", **window)
            except BatchError as exc:
                problems = "; ".join(
                    f"{e.field.removeprefix('[0]').lstrip('.')}: {e.reason}" for e in exc.errors
                )
                dataset.invalid.append(f"batch item {batch_items}: {problems}")
                continue
            dataset.points += batch.points
    if not dataset.snapshots and not batch_items:
        raise DatasetError(
            'not a dataset: expected OpenSky states documents ({"time", "states"}) or ingest batch items '
            '({"vehicleID", "path", "timestamps"})'
        )
    if batch_items:
        dataset.format = "batch" if not dataset.snapshots else "mixed"
    return dataset


def group_by_vehicle(points: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Points per vehicle in time order; a vehicle's repeated time (a snapshot that had no newer
    position report) is kept once."""
    tracks: dict[str, dict[int, dict[str, Any]]] = {}
    for point in points:
        tracks.setdefault(point["vehicle_id"], {}).setdefault(point["ts"], point)
    return {vid: [track[ts] for ts in sorted(track)] for vid, track in tracks.items()}


def batch_item(vehicle_id: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "vehicleID": vehicle_id,
        "path": [
            [p["lon"], p["lat"], p["alt"]] if p.get("alt") is not None else [p["lon"], p["lat"]]
            for p in points
        ],
        "timestamps": [p["ts"] for p in points],
    }


def batches(
    tracks: dict[str, list[dict[str, Any]]], batch_size: int, max_points: int
) -> Iterator[list[dict[str, Any]]]:
    """Requests of at most ``batch_size`` objects and ``max_points`` points; a longer track is split."""
    current: list[dict[str, Any]] = []
    points = 0
    for vehicle_id, track in tracks.items():
        for start in range(0, len(track), max_points):
            chunk = track[start : start + max_points]
            if current and (len(current) >= batch_size or points + len(chunk) > max_points):
                yield current
                current, points = [], 0
            current.append(batch_item(vehicle_id, chunk))
            points += len(chunk)
    if current:
        yield current
