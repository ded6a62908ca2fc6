"""TEST-ONLY shim: lets the official ``elasticsearch`` 8.x Python client talk to the local OpenSearch.

Elasticsearch cannot be installed here; OpenSearch 2.19 (scripts/localservers/opensearch.py) stands in
for it. The 8.x client refuses a server whose responses lack ``X-Elastic-Product: Elasticsearch``, and
it sends Elasticsearch's versioned media types (``application/vnd.elasticsearch+json;
compatible-with=8``), which OpenSearch rejects. :class:`ElasticsearchShim` is a loopback HTTP proxy that
does exactly two things:

- on the way in, it maps those media types (``Accept``, ``Content-Type``) to the plain ones
  (``application/json``, ``application/x-ndjson``);
- on the way out, it adds ``X-Elastic-Product: Elasticsearch``.

Methods, paths, query strings, bodies, status codes and every other header pass through unchanged, so
what the engine answers, errors included, is what the client sees; when the engine is down the client's
connection is dropped, as it would be by a stopped Elasticsearch. The shipped code never imports this: it
is handed the shim's URL instead of an Elasticsearch URL. See tests/SEARCH_ENGINE.md.
"""

from __future__ import annotations

import http.client
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PRODUCT_HEADER = ("X-Elastic-Product", "Elasticsearch")

_VERSIONED_MEDIA_TYPE = re.compile(
    r"application/vnd\.elasticsearch\+([\w.-]+)(\s*;\s*compatible-with\s*=\s*\d+)?", re.IGNORECASE
)
_MEDIA_TYPE_HEADERS = {"accept", "content-type"}
# Per-connection headers (RFC 9110 7.6.1) are not forwarded; lengths are set again for each hop.
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "transfer-encoding", "upgrade", "host", "content-length",
}  # fmt: skip


def plain_media_type(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=8`` -> ``application/json`` (any subtype)."""
    return _VERSIONED_MEDIA_TYPE.sub(lambda m: f"application/{m.group(1)}", value)


def request_headers_for_engine(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The client's request headers as forwarded to OpenSearch: plain media types, no hop-by-hop ones."""
    forwarded = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in _HOP_BY_HOP:
            continue
        forwarded.append((name, plain_media_type(value) if lowered in _MEDIA_TYPE_HEADERS else value))
    return forwarded


def response_headers_for_client(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """OpenSearch's response headers as returned to the client: plus the product header."""
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() not in _HOP_BY_HOP and name.lower() != PRODUCT_HEADER[0].lower()
    ]
    return [*kept, PRODUCT_HEADER]


def _read_chunked(stream) -> bytes:
    body = bytearray()
    while True:
        size = int(stream.readline().split(b";", 1)[0].strip(), 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return bytes(body)
        body += stream.read(size)
        stream.readline()


class _ShimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ShimServer

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _forward(self) -> None:
        body = self._read_body()
        upstream = http.client.HTTPConnection(self.server.engine_host, self.server.engine_port, timeout=120)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            upstream.putheader("Host", f"{self.server.engine_host}:{self.server.engine_port}")
            for name, value in request_headers_for_engine(list(self.headers.items())):
                upstream.putheader(name, value)
            if body is not None or self.command in ("POST", "PUT"):
                upstream.putheader("Content-Length", str(len(body or b"")))
            upstream.endheaders(body)
            response = upstream.getresponse()
            payload = response.read()
            status, reason, headers = response.status, response.reason, response.getheaders()
        except OSError:
            # Engine down or gone mid-request: drop the client's connection, as a dead server would.
            self.close_connection = True
            return
        finally:
            upstream.close()
        self.send_response_only(status, reason)
        for name, value in response_headers_for_client(headers):
            self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", response.getheader("Content-Length", "0"))
            self.end_headers()
        else:
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _forward  # noqa: N815

    def log_message(self, format, *args) -> None:  # the engine's own log is the one to read
        pass


class _ShimServer(ThreadingHTTPServer):
    daemon_threads = True
    engine_host: str
    engine_port: int


class ElasticsearchShim:
    """TEST-ONLY loopback proxy in front of OpenSearch for the official ``elasticsearch`` 8.x client."""

    def __init__(self, engine_url: str, host: str = "127.0.0.1", port: int = 0):
        engine = urlsplit(engine_url)
        if engine.scheme != "http" or not engine.hostname or not engine.port:
            raise ValueError(f"expected http://HOST:PORT, got {engine_url!r}")
        self.engine_url = engine_url
        self._server = _ShimServer((host, port), _ShimHandler)
        self._server.engine_host, self._server.engine_port = engine.hostname, engine.port
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ElasticsearchShim:
        self._thread = threading.Thread(target=self._server.serve_forever, name="es-shim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ElasticsearchShim:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def elasticsearch_client(shim: ElasticsearchShim, **kwargs):
    """The official client, configured as shipped code would configure it, but pointed at the shim."""
    from elasticsearch import Elasticsearch

    return Elasticsearch(shim.url, **{"request_timeout": 60, **kwargs})
