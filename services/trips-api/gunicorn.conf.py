"""gunicorn settings for trips-api: API_HOST / API_PORT choose the bind address."""

import os

from geostream.logs import gunicorn_logconfig

bind = f"{os.environ.get('API_HOST', '0.0.0.0')}:{os.environ.get('API_PORT', '8083')}"
# Threads wait on MobilityDB; each worker process has its own connection pool (DB_POOL_MAX).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = gunicorn_logconfig("trips-api", loglevel)


def worker_exit(server, worker):
    from trips_api.wsgi import app

    app.extensions["database"].close()
