"""The gunicorn settings the Flask services share (imported by their ``gunicorn.conf.py``).

Threaded workers: keep-alive connections (gunicorn's sync workers close every connection) and requests
that wait on I/O (Kafka acknowledgements, MobilityDB) overlap. Logs are JSON like the services' own.
"""

from __future__ import annotations

import os
from typing import Any

from geostream.logs import gunicorn_logconfig


def gunicorn_settings(service: str, *, host_var: str, port_var: str, default_port: int) -> dict[str, Any]:
    """Settings from the environment: ``<host_var>``/``<port_var>``, WEB_CONCURRENCY, GUNICORN_THREADS."""
    loglevel = os.environ.get("LOG_LEVEL", "info").lower()
    return {
        "bind": f"{os.environ.get(host_var, '0.0.0.0')}:{os.environ.get(port_var, str(default_port))}",
        "workers": int(os.environ.get("WEB_CONCURRENCY", "2")),
        "threads": int(os.environ.get("GUNICORN_THREADS", "4")),
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": loglevel,
        "logconfig_dict": gunicorn_logconfig(service, loglevel),
    }
