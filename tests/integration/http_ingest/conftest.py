from __future__ import annotations

import pytest
from support.processes import gunicorn_http_ingest

from localservers import free_port


@pytest.fixture(scope="module")
def ingest(kafka, workdir):
    """http-ingest under gunicorn, as in its container, against the session's real broker."""
    port = free_port()
    service = gunicorn_http_ingest(port, kafka.bootstrap, workdir / "logs" / "http-ingest.log").start()
    url = f"http://127.0.0.1:{port}"
    service.wait_healthy(f"{url}/health")
    yield url
    service.stop()
