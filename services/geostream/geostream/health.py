"""A tiny HTTP endpoint for services that do not serve HTTP themselves (bridges, consumers, producers).

``GET /health`` answers 200 when every check passes and 503 otherwise, with a JSON body naming each
check; compose healthchecks and the tests call it. ``GET /metrics`` serves the process's Prometheus
metrics (:mod:`geostream.metrics`), or those of the ``registry`` given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

Check = Callable[[], bool]


def health_status(checks: dict[str, Check]) -> tuple[int, dict[str, object]]:
    results = {}
    for name, check in checks.items():
        try:
            results[name] = "up" if check() else "down"
        except Exception as exc:  # a failing probe is a health answer, not a crash
            results[name] = f"down: {exc}"
    healthy = all(v == "up" for v in results.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "unhealthy", "checks": results}


class HealthServer:
    def __init__(
        self,
        host: str,
        port: int,
        checks: dict[str, Check],
        registry: Any = None,
        details: Callable[[], dict[str, object]] | None = None,
    ):
        """``registry``: a prometheus_client ``CollectorRegistry`` to serve instead of the process's;
        ``details``: more fields for the /health body (a queue's depth, say), read on each request."""
        checks_ref = checks

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/metrics":
                    from geostream.metrics import exposition

                    payload, content_type = exposition(registry)
                    code = 200
                elif path in ("/health", "/healthz"):
                    status, body = health_status(checks_ref)
                    if details is not None:
                        body = {**body, **details()}
                    payload, content_type, code = orjson.dumps(body), "application/json", status
                else:
                    self.send_error(404)
                    return
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
