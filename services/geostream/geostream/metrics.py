"""Prometheus ``/metrics`` for every service, including gunicorn's several worker processes.

prometheus_client keeps one registry per process. Under gunicorn each worker counts its own requests, so
a scrape that reached one worker would see a fraction: with ``PROMETHEUS_MULTIPROC_DIR`` set (before
prometheus_client is imported; ``geostream.gunicorn`` does it in the master), every process writes its
samples to files there and :func:`exposition` sums them. Without it (single-process services) the
default registry is served. prometheus_client picks its storage when first imported, so this module
imports it only inside functions: a gunicorn config may import this module before setting the variable.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(registry: object = None) -> tuple[bytes, str]:
    """The body and Content-Type of a ``GET /metrics`` answer: ``registry``'s metrics when given."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if registry is not None:
        return generate_latest(registry), CONTENT_TYPE_LATEST
    directory = multiprocess_dir()
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def prepare_multiprocess_dir(directory: str) -> None:
    """Start a server with an empty directory: stale files of a previous run would be summed in."""
    path = Path(directory)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o700)


def worker_exited(pid: int) -> None:
    """gunicorn ``child_exit``: drop the live-gauge files of a dead worker (counters are kept)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
