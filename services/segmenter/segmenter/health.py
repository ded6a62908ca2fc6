"""``GET /health`` (the shared checks plus the queue's depth and age) and ``GET /metrics`` on one port."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

from geostream.health import Check, health_status
from geostream.metrics import exposition


def health_body(checks: dict[str, Check], details: Callable[[], dict[str, object]]) -> tuple[int, bytes]:
    status, body = health_status(checks)
    return status, orjson.dumps({**body, **details()})


class HealthServer:
    def __init__(
        self, host: str, port: int, checks: dict[str, Check], details: Callable[[], dict[str, object]]
    ):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/metrics":
                    code, (payload, content_type) = 200, exposition()
                elif path in ("/health", "/healthz"):
                    code, payload = health_body(checks, details)
                    content_type = "application/json"
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
