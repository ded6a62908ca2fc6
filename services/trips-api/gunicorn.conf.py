"""gunicorn settings for trips-api: API_HOST / API_PORT choose the bind address.

Each worker process has its own connection pool (DB_POOL_MAX) shared by its threads. Prometheus counters
of all workers meet in PROMETHEUS_MULTIPROC_DIR (a private temporary directory unless set).
"""

import os
import shutil
import tempfile

from geostream.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("trips-api", host_var="API_HOST", port_var="API_PORT", default_port=8083))

_METRICS_DIR_CREATED: list[str] = []


def on_starting(server):
    # Before any worker (and so before any prometheus_client import) exists: the workers inherit it.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        path = tempfile.mkdtemp(prefix="trips-api-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        _METRICS_DIR_CREATED.append(path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    from trips_api.wsgi import app

    app.extensions["database"].close()


def on_exit(server):
    for path in _METRICS_DIR_CREATED:
        shutil.rmtree(path, ignore_errors=True)
