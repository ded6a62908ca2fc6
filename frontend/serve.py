#!/usr/bin/env python3
"""Serve the built frontend (dist/) without Docker, with a config.json generated from the environment.

Used by `make local`: the same contract as the container (WS_URL, API_URL, LIVE_WINDOW_SECONDS),
standard library only. Endpoints: the files of dist/, /config.json and /healthz.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import threading
import time
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOG = logging.getLogger("frontend-serve")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": "frontend",
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"))


STRING_SETTINGS = {"WS_URL": "wsUrl", "API_URL": "apiUrl", "BASEMAP": "basemap"}
SECONDS_SETTINGS = {
    "LIVE_WINDOW_SECONDS": "liveWindowSeconds",
    "STALE_SECONDS": "staleSeconds",
    "OFFLINE_SECONDS": "offlineSeconds",
}


def runtime_config(env: dict[str, str]) -> dict[str, object]:
    """config.json content: only the values that are set, so the page falls back to its defaults."""
    config: dict[str, object] = {}
    for name, key in STRING_SETTINGS.items():
        if value := env.get(name, "").strip():
            config[key] = value
    for name, key in SECONDS_SETTINGS.items():
        if raw := env.get(name, "").strip():
            config[key] = _seconds(name, raw)
    return config


def _seconds(name: str, raw: str) -> int | float:
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise SystemExit(f"{name} must be a number >= 0, got {raw!r}")
    return int(seconds) if seconds.is_integer() else seconds


class Handler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        ".css": "text/css",
        ".html": "text/html; charset=utf-8",
        ".wasm": "application/wasm",
    }

    def __init__(self, *args, config_body: bytes, **kwargs):
        self.config_body = config_body
        super().__init__(*args, **kwargs)

    def _send_bytes(self, body: bytes, content_type: str, head_only: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _route(self, head_only: bool) -> bool:
        path = self.path.split("?", 1)[0]
        if path == "/config.json":
            self._send_bytes(self.config_body, "application/json", head_only)
            return True
        if path == "/healthz":
            self._send_bytes(b'{"status":"ok"}', "application/json", head_only)
            return True
        return False

    def do_GET(self) -> None:
        if not self._route(head_only=False):
            super().do_GET()

    def do_HEAD(self) -> None:
        if not self._route(head_only=True):
            super().do_HEAD()

    def end_headers(self) -> None:
        path = self.path.split("?", 1)[0]
        # Hashed asset names never change; everything else must be revalidated.
        if path.startswith("/assets/"):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        LOG.info(format % args, extra={"fields": {"client": self.client_address[0]}})


def main() -> int:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), handlers=[handler])

    host = os.environ.get("FRONTEND_HOST", "127.0.0.1")
    port = int(os.environ.get("FRONTEND_PORT", "8080"))
    dist = Path(os.environ.get("FRONTEND_DIST", str(HERE / "dist"))).resolve()
    if not (dist / "index.html").is_file():
        LOG.error(
            "no build found", extra={"fields": {"dist": str(dist), "hint": "run: npm ci && npm run build"}}
        )
        return 1
    config = runtime_config(dict(os.environ))
    body = json.dumps(config).encode()

    server = ThreadingHTTPServer((host, port), partial(Handler, directory=str(dist), config_body=body))
    server.daemon_threads = True

    def stop(signum: int, _frame: object) -> None:
        LOG.info("stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
        # shutdown() waits for serve_forever() to return, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    LOG.info(
        "serving",
        extra={
            "fields": {
                "url": f"http://{host}:{server.server_address[1]}/",
                "dist": str(dist),
                "config": config,
            }
        },
    )
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
    LOG.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
