"""Helpers: udp-ingest and es-indexer as their containers run them, on the real local Kafka and
OpenSearch (through the test-only Elasticsearch shim, tests/SEARCH_ENGINE.md)."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import orjson
import requests
from support.processes import ROOT, ServiceProcess

from localservers import free_port


def indexer_process(workdir: Path, kafka, es_shim, name: str, **env: str) -> tuple[ServiceProcess, int]:
    health = free_port()
    proc = ServiceProcess(
        [sys.executable, "-m", "es_indexer"],
        {
            "KAFKA_BROKERS": kafka.bootstrap,
            "ELASTICSEARCH_URL": es_shim.url,
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(health),
            "BATCH_MAX_WAIT_S": "0.3",
            "RETRY_INITIAL_S": "0.2",
            "RETRY_MAX_S": "2",
            **env,
        },
        ROOT / "services/es-indexer",
        workdir / f"{name}.log",
    )
    return proc, health


class Pipeline:
    """udp-ingest -> Kafka -> es-indexer -> OpenSearch."""

    def __init__(self, workdir: Path, kafka, es_shim):
        self.udp_port = free_port()
        self.ingest_health = free_port()
        self.ingest = ServiceProcess(
            [sys.executable, "-m", "udp_ingest"],
            {
                "KAFKA_BROKERS": kafka.bootstrap,
                "UDP_HOST": "127.0.0.1",
                "UDP_PORT": str(self.udp_port),
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(self.ingest_health),
            },
            ROOT / "services/udp-ingest",
            workdir / "pipeline-udp-ingest.log",
        )
        self.indexer, self.indexer_health = indexer_process(workdir, kafka, es_shim, "pipeline-es-indexer")

    def start(self) -> Pipeline:
        self.ingest.start()
        self.indexer.start()
        self.ingest.wait_healthy(f"http://127.0.0.1:{self.ingest_health}/health", timeout=90)
        self.indexer.wait_healthy(f"http://127.0.0.1:{self.indexer_health}/health", timeout=120)
        return self

    def stop(self) -> None:
        self.ingest.stop()
        self.indexer.stop()

    def send(self, *records: dict) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for record in records:
                sock.sendto(orjson.dumps(record), ("127.0.0.1", self.udp_port))

    def indexer_metric(self, name: str, labels: str = "") -> float:
        text = requests.get(f"http://127.0.0.1:{self.indexer_health}/metrics", timeout=5).text
        prefix = f"{name}_total{labels}"
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def reading(sensor: str, second: int, lon: float = 3.185785, lat: float = 42.488629, **extra) -> dict:
    return {
        "timestamp": f"2024-01-21 10:{second // 60:02d}:{second % 60:02d}.095931",
        "temperature": 20.9 + second / 100,
        "humidity": 59.22,
        "pressure": 1001.87,
        "sensor_id": sensor,
        "location": {"lon": lon, "lat": lat},
        **extra,
    }


def count_documents(es, sensor: str) -> int:
    es.indices.refresh(index="sensor-readings")
    return es.count(index="sensor-readings", query={"term": {"sensor_id": sensor}})["count"]


def wait_for_documents(es, sensor: str, expected: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while (found := count_documents(es, sensor)) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return found
