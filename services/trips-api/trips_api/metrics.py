"""Prometheus metrics of trips-api, served at ``GET /metrics``.

Under gunicorn every worker process counts on its own; ``gunicorn.conf.py`` points
``PROMETHEUS_MULTIPROC_DIR`` at a private directory before the workers start, so that one scrape, which
any worker may answer, adds up all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("trips_api_requests", "answered requests, by route and status", ["route", "status"])
REJECTED = Counter(
    "trips_api_rejected",
    "requests refused before any query, by reason (unauthorized, rate_limited, invalid_parameter)",
    ["reason"],
)
DURATION = Histogram(
    "trips_api_request_seconds",
    "time to answer, by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DATABASE_ERRORS = Counter("trips_api_database_errors", "queries that failed in MobilityDB, by kind", ["kind"])


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
