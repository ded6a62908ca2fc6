"""The real Telegraf scrapes a Prometheus /metrics endpoint, as it does for every service of the platform."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localservers.telegraf import run_once

EXPOSITION = b"""# HELP ingest_points_total Points accepted.
# TYPE ingest_points_total counter
ingest_points_total{source="http"} 42
ingest_points_total{source="owntracks"} 7
# HELP ingest_kafka_lag_seconds Delivery lag.
# TYPE ingest_kafka_lag_seconds gauge
ingest_kafka_lag_seconds 0.25
"""

CONFIG = """
[agent]
  omit_hostname = true
  skip_processors_after_aggregators = true

[[inputs.prometheus]]
  urls = ["${METRICS_URL}"]
  metric_version = 2

[[outputs.file]]
  files = ["stdout"]
  data_format = "influx"
  influx_sort_fields = true
"""


class MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/metrics":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(EXPOSITION)))
        self.end_headers()
        self.wfile.write(EXPOSITION)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def metrics_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), MetricsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()
    server.server_close()


def test_each_sample_becomes_a_point_with_its_labels_as_tags(metrics_url, telegraf_bin, tmp_path):
    config = tmp_path / "telegraf.conf"
    config.write_text(CONFIG)
    lines = run_once(config, {"METRICS_URL": metrics_url}).splitlines()
    url = metrics_url
    points = sorted(line.rsplit(" ", 1)[0] for line in lines)
    assert points == [
        f"prometheus,source=http,url={url} ingest_points_total=42",
        f"prometheus,source=owntracks,url={url} ingest_points_total=7",
        f"prometheus,url={url} ingest_kafka_lag_seconds=0.25",
    ]
