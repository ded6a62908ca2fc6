"""gunicorn settings; the prototype's FLASK_HOST / FLASK_PORT choose the bind address.

Each worker process has one Kafka producer shared by its threads; delivery reports are counted per
request (geostream.kafka.produce_and_wait). Prometheus metrics are summed over the workers through
PROMETHEUS_MULTIPROC_DIR (emptied at start; a private temporary directory when unset).
"""

import os
import shutil
import tempfile

from geostream.gunicorn import gunicorn_settings
from geostream.metrics import MULTIPROC_ENV, prepare_multiprocess_dir, worker_exited

globals().update(
    gunicorn_settings("http-ingest", host_var="FLASK_HOST", port_var="FLASK_PORT", default_port=5000)
)

_own_metrics_dir = not os.environ.get(MULTIPROC_ENV)
if _own_metrics_dir:
    os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="http-ingest-metrics-")
prepare_multiprocess_dir(os.environ[MULTIPROC_ENV])


def child_exit(server, worker):
    worker_exited(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ[MULTIPROC_ENV], ignore_errors=True)


def worker_exit(server, worker):
    """SIGTERM: gunicorn stops accepting and finishes in-flight requests; then deliver what is queued."""
    from http_ingest.wsgi import app

    producer = app.extensions["kafka"].producer
    left = producer.flush(10)
    if left:
        server.log.warning("worker %s exited with %d undelivered records", worker.pid, left)
