"""Pure parts: reading reference pickups, training KMeans, and the revenue documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow.csv as pacsv
from sklearn.cluster import KMeans

LAT_NAMES = ("latitude", "lat", "pickup_latitude")
LON_NAMES = ("longitude", "lon", "lng", "pickup_longitude")


def read_pickups(path: str) -> np.ndarray:
    """(n, 2) array of (lat, lon) from a CSV with latitude/longitude columns (any case; Lat/Lon too).
    Rows with missing or out-of-range coordinates are dropped."""
    table = pacsv.read_csv(path)
    names = {n.lower().strip(): n for n in table.column_names}
    lat = next((names[n] for n in LAT_NAMES if n in names), None)
    lon = next((names[n] for n in LON_NAMES if n in names), None)
    if lat is None or lon is None:
        raise ValueError(f"{path}: needs latitude and longitude columns, has {table.column_names}")
    points = np.column_stack(
        [table[lat].to_numpy(zero_copy_only=False), table[lon].to_numpy(zero_copy_only=False)]
    ).astype(float)
    ok = np.isfinite(points).all(axis=1) & (np.abs(points[:, 0]) <= 90) & (np.abs(points[:, 1]) <= 180)
    return points[ok]


def train(points: np.ndarray, clusters: int, seed: int) -> KMeans:
    """KMeans on (lat, lon) degrees, as the prototype's BigQuery ML model (MODEL_TYPE='KMEANS')."""
    if len(points) < clusters:
        raise ValueError(f"{len(points)} reference pickups for {clusters} clusters")
    return KMeans(n_clusters=clusters, n_init=10, random_state=seed).fit(points)


def centroids(model: KMeans) -> list[tuple[int, float, float]]:
    return [(i, float(lat), float(lon)) for i, (lat, lon) in enumerate(model.cluster_centers_)]


def revenue_documents(rows: list[dict[str, Any]], computed_at: datetime) -> list[dict[str, Any]]:
    """The ``rides-revenue`` index documents (for the es-indexer): one per cluster and comfort, with a
    deterministic id so that re-indexing a run overwrites it."""
    stamp = computed_at.strftime("%Y%m%dT%H%M%SZ")
    return [
        {
            "_id": f"{stamp}-{r['cluster_id']}-{r['comfort']}",
            "@timestamp": computed_at.isoformat().replace("+00:00", "Z"),
            "cluster_id": r["cluster_id"],
            "comfort": r["comfort"],
            "revenue": r["revenue"],
            "rides": r["rides"],
            "centroid": {"lat": r["centroid_lat"], "lon": r["centroid_lon"]},
        }
        for r in rows
    ]
