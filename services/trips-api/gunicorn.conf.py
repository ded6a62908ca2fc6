"""gunicorn settings for trips-api: API_HOST / API_PORT choose the bind address.

Each worker process has its own connection pool (DB_POOL_MAX) shared by its threads.
"""

from geostream.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("trips-api", host_var="API_HOST", port_var="API_PORT", default_port=8083))


def worker_exit(server, worker):
    from trips_api.wsgi import app

    app.extensions["database"].close()
