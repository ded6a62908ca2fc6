"""gunicorn settings; the prototype's FLASK_HOST / FLASK_PORT choose the bind address."""

import os

from geostream.logs import gunicorn_logconfig

bind = f"{os.environ.get('FLASK_HOST', '0.0.0.0')}:{os.environ.get('FLASK_PORT', '5000')}"
# Threaded workers: keep-alive connections (sync workers close every connection), and requests waiting for
# Kafka's acknowledgement overlap. Each worker process has one producer shared by its threads; delivery
# reports are counted per request (geostream.kafka.produce_and_wait).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 0
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = gunicorn_logconfig("http-ingest", loglevel)


def worker_exit(server, worker):
    """SIGTERM: gunicorn stops accepting and finishes in-flight requests; then deliver what is queued."""
    from http_ingest.wsgi import app

    producer = app.extensions["kafka"].producer
    left = producer.flush(10)
    if left:
        server.log.warning("worker %s exited with %d undelivered records", worker.pid, left)
