"""gunicorn settings; the prototype's FLASK_HOST / FLASK_PORT choose the bind address.

Each worker process has one Kafka producer shared by its threads; delivery reports are counted per
request (geostream.kafka.produce_and_wait).
"""

from geostream.gunicorn import gunicorn_settings

globals().update(
    gunicorn_settings("http-ingest", host_var="FLASK_HOST", port_var="FLASK_PORT", default_port=5000)
)


def worker_exit(server, worker):
    """SIGTERM: gunicorn stops accepting and finishes in-flight requests; then deliver what is queued."""
    from http_ingest.wsgi import app

    producer = app.extensions["kafka"].producer
    left = producer.flush(10)
    if left:
        server.log.warning("worker %s exited with %d undelivered records", worker.pid, left)
