"""TEST STAND-IN for the Visual Crossing Timeline API, which cannot be reached from these machines.

A loopback HTTP server that answers ``GET .../timeline/<location>/<start>/<end>`` with a scripted sequence
of replies (a recorded response, a 429 with Retry-After, a 500, a slow answer, non-JSON), and records the
requests it got. Only the producer's HTTP side is exercised against it; the mapping is unit-tested on the
recorded responses.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class VisualCrossingStandIn:
    def __init__(self, replies: list[Reply], default: Reply | None = None):
        self.replies = deque(replies)
        self.default = default or Reply(500, b'{"error": "no scripted reply"}')
        self.requests: list[dict] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                standin.requests.append({"path": url.path, "query": parse_qs(url.query)})
                reply = standin.replies.popleft() if standin.replies else standin.default
                time.sleep(reply.delay_s)
                self.send_response(reply.status)
                for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/VisualCrossingWebServices/rest/services/timeline"

    def __enter__(self) -> VisualCrossingStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
