"""A PNG map of the zones: reference pickups coloured by cluster, centroids numbered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # the object API: no pyplot, no display backend
from sklearn.cluster import KMeans


def zones_png(points: np.ndarray, model: KMeans, path: Path, revenue_by_cluster: dict[int, float]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = model.predict(points)
    fig = Figure(figsize=(8, 8), dpi=100)
    ax = fig.subplots()
    ax.scatter(points[:, 1], points[:, 0], c=labels, cmap="tab10", s=4, alpha=0.5)
    for i, (lat, lon) in enumerate(model.cluster_centers_):
        ax.scatter([lon], [lat], c="black", marker="x", s=60)
        label = f"{i}: {revenue_by_cluster.get(i, 0.0):,.0f}"
        ax.annotate(label, (lon, lat), xytext=(6, 6), textcoords="offset points", fontsize=9, weight="bold")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title("Zones (KMeans on reference pickups) and revenue per zone")
    ax.set_aspect(1 / np.cos(np.radians(float(np.mean(points[:, 0])))))
    fig.savefig(path, bbox_inches="tight")
    return path
