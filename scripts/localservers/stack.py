"""``make local``: the whole pipeline on this machine, without Docker, on the same ports as compose.

Starts the real servers (Kafka protocol broker, Mosquitto, PostgreSQL + MobilityDB), then every service
as a child process with the environment its container gets, prints the endpoints and waits; Ctrl-C or
SIGTERM stops everything in reverse order.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from localservers import KafkaServer, MosquittoServer, cache_dir, port_open

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from support.processes import ServiceProcess  # noqa: E402

PYTHON = sys.executable


@dataclass
class Service:
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    health_url: str | None = None
    port: int | None = None
    enabled: Callable[[], bool] = lambda: True


def services(pg_dsn: str, jdbc_url: str) -> list[Service]:
    kafka = {"KAFKA_BROKERS": "127.0.0.1:9092"}
    return [
        Service(
            "http-ingest",
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "http_ingest.wsgi:app"],
            ROOT / "services/http-ingest",
            {**kafka, "FLASK_HOST": "0.0.0.0", "FLASK_PORT": "5000", "WEB_CONCURRENCY": "2"},
            "http://127.0.0.1:5000/health",
            5000,
        ),
    ]


def main() -> int:
    run_dir = cache_dir() / "local"
    ports = {"kafka": 9092, "mqtt": 1883, "postgres": 5432}
    busy = [f"{name} ({port})" for name, port in ports.items() if port_open(port)]
    if busy:
        print(f"ports in use: {', '.join(busy)}; stop what uses them (docker compose down?)", file=sys.stderr)
        return 1

    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    started: list = []
    try:
        started.append(KafkaServer(run_dir / "kafka", port=9092, host="127.0.0.1").start())
        started.append(MosquittoServer(run_dir / "mosquitto", port=1883, host="127.0.0.1").start())
        from localservers.postgres import PostgresServer

        password = os.environ.get("POSTGRES_PASSWORD", "postgres")
        postgres = PostgresServer(run_dir / "postgres", port=5432, password=password)
        postgres.start()
        started.append(postgres)
        for service in services(postgres.dsn, postgres.jdbc_url):
            if not service.enabled():
                continue
            if service.port and port_open(service.port):
                raise RuntimeError(f"port {service.port} for {service.name} is in use")
            process = ServiceProcess(service.argv, service.env, service.cwd, run_dir / "logs" / f"{service.name}.log")
            started.append(process.start())
            if service.health_url:
                process.wait_healthy(service.health_url, timeout=180)
            print(f"  {service.name:<14} up   {service.health_url or ''}", flush=True)
        print(
            "\nGeostream is running locally (logs in %s). Ctrl-C stops everything.\n"
            "  ingest     http://localhost:5000/ingest/location\n"
            "  Kafka      localhost:9092     MQTT  localhost:1883     PostgreSQL  %s\n" % (run_dir / "logs", postgres.dsn),
            flush=True,
        )
        while not stopping:
            for item in started:
                if isinstance(item, ServiceProcess) and item.process.poll() is not None:
                    print(f"{item.argv[:3]} exited with {item.process.returncode}; see {item.log_path}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        for item in reversed(started):
            item.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
