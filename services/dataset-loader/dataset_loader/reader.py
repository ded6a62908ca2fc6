"""Dataset files -> location points -> ingest batches. Pure functions over the file's text.

Accepted files:
- an OpenSky ``GET /api/states/all`` response ``{"time", "states": [...]}``, a JSON array of them, or
  several of them one per line (JSON Lines) - successive snapshots make trajectories;
- the ingest batch format ``[{"vehicleID", "path": [[lon, lat(, alt)], ...], "timestamps": [...]}]``,
  as one JSON array or one object per line.

The ingest batch format carries position, time and altitude (a path element's third value) only: an
OpenSky row's velocity and true_track do not survive the trip through the ingest API.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from geostream.locations import BatchError, parse_batch
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


def _documents(text: str) -> list[Any]:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        docs = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                docs.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise DatasetError(f"line {number}: not JSON ({exc})") from None
        return docs
    return doc if isinstance(doc, list) else [doc]


def _is_batch_item(doc: Any) -> bool:
    return isinstance(doc, dict) and "path" in doc


def parse_dataset(text: str, *, now_ms: int, max_future_ms: int) -> Dataset:
    docs = _documents(text)
    if not docs:
        raise DatasetError("the file holds no JSON document")
    if all(opensky.is_states_document(d) for d in docs):
        dataset = Dataset("opensky")
        for doc in docs:
            try:
                snapshot = opensky.snapshot(doc, now_ms=now_ms, max_future_ms=max_future_ms)
            except RejectError as exc:
                raise DatasetError(f"snapshot {dataset.snapshots + 1}: {exc.reason}") from None
            dataset.snapshots += 1
            dataset.points += snapshot.points
            dataset.without_position += snapshot.without_position
            dataset.invalid += [f"snapshot {dataset.snapshots}: {reason}" for reason in snapshot.invalid]
        return dataset
    items = [item for doc in docs for item in (doc if isinstance(doc, list) else [doc])]
    if all(_is_batch_item(item) for item in items):
        try:
            batch = parse_batch(
                items, now_ms=now_ms, max_points=10**9, max_future_ms=max_future_ms, source="dataset"
            )
        except BatchError as exc:
            raise DatasetError(f"invalid batch file: {exc}") from None
        return Dataset("batch", batch.points)
    raise DatasetError(
        'not a dataset: expected OpenSky states documents ({"time", "states"}) or ingest batch items '
        '({"vehicleID", "path", "timestamps"})'
    )


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
