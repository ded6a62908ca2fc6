"""``python -m rides_analytics [--every] [--reference CSV] [--ndjson PATH]``: revenue by zone and comfort.

One run: train KMeans on the reference pickups, assign every ride of the lake to its nearest zone (by
origin, DuckDB over the Parquet files, each ride once), write the revenue table back to the lake, draw the
PNG map and print the table. ``--every`` repeats it every ANALYTICS_INTERVAL_S (the scheduled container).
``--ndjson`` also writes the ``rides-revenue`` documents to a file; with ``ELASTICSEARCH_URL`` set they
are indexed into ``rides-revenue`` (rides_analytics.search).
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from geostream.health import HealthServer
from geostream.lifecycle import Shutdown
from geostream.logs import setup_logging
from rides_analytics.lake import revenue_by_zone, rides_dataset, write_revenue
from rides_analytics.plot import zones_png
from rides_analytics.search import index_revenue, make_client
from rides_analytics.settings import Settings
from rides_analytics.zones import centroids, read_pickups, revenue_documents, train

log = logging.getLogger("rides-analytics")


def table_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'zone':>4}  {'comfort':<7} {'rides':>8} {'revenue':>12}  centroid"]
    for r in rows:
        lines.append(
            f"{r['cluster_id']:>4}  {r['comfort']:<7} {r['rides']:>8} {r['revenue']:>12,.2f}"
            f"  {r['centroid_lat']:.4f}, {r['centroid_lon']:.4f}"
        )
    lines.append(
        f"{'':>4}  {'total':<7} {sum(r['rides'] for r in rows):>8} {sum(r['revenue'] for r in rows):>12,.2f}"
    )
    return "\n".join(lines)


def run_once(settings: Settings, reference: str, ndjson: Path | None) -> list[dict[str, Any]]:
    computed_at = datetime.now(UTC).replace(microsecond=0)
    points = read_pickups(reference)
    model = train(points, settings.analytics_clusters, settings.analytics_seed)
    dataset = rides_dataset(settings.lake_root, settings.lake_prefix)
    rows = revenue_by_zone(dataset, centroids(model)) if dataset is not None else []
    by_cluster: dict[int, float] = {}
    for r in rows:
        by_cluster[r["cluster_id"]] = by_cluster.get(r["cluster_id"], 0.0) + r["revenue"]
    png = zones_png(points, model, Path(settings.analytics_output_dir) / "zones.png", by_cluster)
    written = write_revenue(settings.lake_root, settings.revenue_prefix, rows, computed_at) if rows else None
    documents = revenue_documents(rows, computed_at)
    if ndjson is not None:
        ndjson.parent.mkdir(parents=True, exist_ok=True)
        ndjson.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in documents))
    if settings.elasticsearch_url:
        with make_client(settings) as es:
            index_revenue(es, documents, settings.index_replicas)
    print(table_text(rows), flush=True)
    log.info(
        "revenue by zone computed",
        extra={
            "rows": len(rows),
            "rides": sum(r["rides"] for r in rows),
            "png": str(png),
            "lake_file": written,
        },
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rides_analytics")
    parser.add_argument("--every", action="store_true", help="run every ANALYTICS_INTERVAL_S until stopped")
    parser.add_argument("--reference", help="reference pickups CSV (REFERENCE_PICKUPS)")
    parser.add_argument("--ndjson", type=Path, help="also write the rides-revenue documents to this file")
    args = parser.parse_args(argv)
    settings = Settings()
    setup_logging("rides-analytics", settings.log_level)
    reference = args.reference or settings.reference_pickups
    if not args.every:
        run_once(settings, reference, args.ndjson)
        return 0
    shutdown = Shutdown()
    state = {"ok": True}
    health = HealthServer(
        settings.health_host, settings.health_port, {"last_run": lambda: state["ok"]}
    ).start()
    try:
        while not shutdown.requested:
            try:
                run_once(settings, reference, args.ndjson)
                state["ok"] = True
            except Exception:  # a bad run is logged and retried at the next tick; the container lives on
                state["ok"] = False
                log.exception("run failed")
            shutdown.wait(settings.analytics_interval_s)
    finally:
        health.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
