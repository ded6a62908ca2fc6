"""DuckDB over the Parquet lake: every ride once (by ride id), its zone, revenue by zone and comfort."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq


def open_root(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    return pafs.LocalFileSystem(), str(Path(root).resolve())


def rides_dataset(root: str, prefix: str) -> pads.Dataset | None:
    """The lake's rides as a lazy dataset (DuckDB scans it with projection pushdown); None when empty."""
    fs, base = open_root(root)
    selector = pafs.FileSelector(f"{base.rstrip('/')}/{prefix}", recursive=True, allow_not_found=True)
    files = [
        i.path
        for i in fs.get_file_info(selector)
        if i.type == pafs.FileType.File and i.base_name.endswith(".parquet")
    ]
    return pads.dataset(files, format="parquet", filesystem=fs) if files else None


REVENUE_SQL = """
WITH rides AS (
  SELECT * FROM rides_scan
  QUALIFY row_number() OVER (PARTITION BY ride_id ORDER BY kafka_offset) = 1
),
assigned AS (
  SELECT r.ride_id, r.comfort, r.price_total,
         arg_min(c.cluster_id, (r.origin_lat - c.lat) * (r.origin_lat - c.lat)
                               + (r.origin_lon - c.lon) * (r.origin_lon - c.lon)) AS cluster_id
  FROM rides r CROSS JOIN centroids c
  GROUP BY r.ride_id, r.comfort, r.price_total
)
SELECT a.cluster_id, a.comfort, round(sum(a.price_total), 2) AS revenue, count(*) AS rides,
       any_value(c.lat) AS centroid_lat, any_value(c.lon) AS centroid_lon
FROM assigned a JOIN centroids c USING (cluster_id)
GROUP BY a.cluster_id, a.comfort
ORDER BY revenue DESC, a.cluster_id, a.comfort
"""


def revenue_by_zone(
    dataset: pads.Dataset, centroid_rows: list[tuple[int, float, float]]
) -> list[dict[str, Any]]:
    con = duckdb.connect()
    try:
        # A pyarrow dataset: DuckDB streams it, reading only the columns the query needs.
        con.register("rides_scan", dataset)
        con.register(
            "centroids",
            pa.table(
                {
                    "cluster_id": [c[0] for c in centroid_rows],
                    "lat": [c[1] for c in centroid_rows],
                    "lon": [c[2] for c in centroid_rows],
                }
            ),
        )
        cursor = con.execute(REVENUE_SQL)
        names = [d[0] for d in cursor.description]
        result = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    finally:
        con.close()
    return result


def write_revenue(root: str, prefix: str, rows: list[dict[str, Any]], computed_at: datetime) -> str:
    """``<root>/<prefix>/computed_at=YYYYMMDDTHHMMSSZ/revenue.parquet``; returns its path."""
    fs, base = open_root(root)
    directory = f"{base.rstrip('/')}/{prefix}/computed_at={computed_at.strftime('%Y%m%dT%H%M%SZ')}"
    fs.create_dir(directory, recursive=True)
    table = pa.Table.from_pylist(rows).append_column(
        "computed_at", pa.array([computed_at] * len(rows), pa.timestamp("s", tz="UTC"))
    )
    path = f"{directory}/revenue.parquet"
    pq.write_table(table, path, filesystem=fs)
    return path
