"""The whole pipeline on this machine, without Docker: ``make local`` and the e2e tests.

:class:`LocalStack` starts the real servers (Kafka protocol broker, Mosquitto, PostgreSQL + MobilityDB),
then every service as a child process with the environment its container gets. ``make local`` uses the
compose ports (:meth:`Ports.compose_defaults`); the e2e tests use free ports, so both can run at once.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from localservers import KafkaServer, MosquittoServer, cache_dir, free_port, port_open

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from support.processes import ServiceProcess  # noqa: E402

PYTHON = sys.executable


@dataclass(frozen=True)
class Ports:
    kafka: int
    mqtt: int
    postgres: int
    ingest: int
    websocket: int
    api: int
    frontend: int
    bridge_health: int
    simulator_health: int

    @classmethod
    def compose_defaults(cls) -> Ports:
        return cls(
            kafka=9092, mqtt=1883, postgres=5432, ingest=5000, websocket=8082, api=8083, frontend=8080,
            bridge_health=8090, simulator_health=8091,
        )  # fmt: skip

    @classmethod
    def free(cls) -> Ports:
        return cls(**{name: free_port() for name in cls.__dataclass_fields__})


@dataclass
class Service:
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    health_url: str | None = None


@dataclass
class LocalStack:
    run_dir: Path
    ports: Ports
    password: str = "postgres"
    simulators: int = 0
    """Simulated vehicles publishing over MQTT (make local SIMULATORS=10)."""
    started: list = field(default_factory=list)

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.ingest}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ports.websocket}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def frontend_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.frontend}"

    @property
    def kafka_brokers(self) -> str:
        return f"127.0.0.1:{self.ports.kafka}"

    def services(self, dsn: str, jdbc_url: str) -> list[Service]:
        kafka = {"KAFKA_BROKERS": self.kafka_brokers}
        mqtt = {"MQTT_BROKER_HOST": "127.0.0.1", "MQTT_BROKER_PORT": str(self.ports.mqtt)}
        flink_python = cache_dir() / "flink-venv" / "bin" / "python"
        return [
            Service(
                "http-ingest",
                [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "http_ingest.wsgi:app"],
                ROOT / "services/http-ingest",
                {
                    **kafka,
                    "FLASK_HOST": "0.0.0.0",
                    "FLASK_PORT": str(self.ports.ingest),
                    "WEB_CONCURRENCY": "2",
                },
                f"{self.ingest_url}/health",
            ),
            Service(
                "flink-job",
                [str(flink_python), "locations_job.py"],
                ROOT / "services/flink-job",
                {
                    **kafka,
                    "JDBC_URL": jdbc_url,
                    "JDBC_USERNAME": "postgres",
                    "JDBC_PASSWORD": self.password,
                    "FLINK_CHECKPOINT_DIR": f"file://{self.run_dir / 'flink-checkpoints'}",
                },
            ),
            Service(
                "ws-relay",
                [PYTHON, "-m", "ws_relay"],
                ROOT / "services/ws-relay",
                {**kafka, "WEBSOCKET_HOST": "0.0.0.0", "WEBSOCKET_PORT": str(self.ports.websocket)},
                f"http://127.0.0.1:{self.ports.websocket}/health",
            ),
            Service(
                "trips-api",
                [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "trips_api.wsgi:app"],
                ROOT / "services/trips-api",
                {
                    "DATABASE_URL": dsn,
                    "API_HOST": "0.0.0.0",
                    "API_PORT": str(self.ports.api),
                    "CORS_ORIGINS": "*",
                },
                f"{self.api_url}/health",
            ),
            Service(
                "mqtt-bridge",
                [PYTHON, "-m", "mqtt_bridge"],
                ROOT / "services/mqtt-bridge",
                {**kafka, **mqtt, "HEALTH_HOST": "127.0.0.1", "HEALTH_PORT": str(self.ports.bridge_health)},
                f"http://127.0.0.1:{self.ports.bridge_health}/health",
            ),
            Service(
                "frontend",
                [PYTHON, "serve.py"],
                ROOT / "frontend",
                {
                    "FRONTEND_HOST": "0.0.0.0",
                    "FRONTEND_PORT": str(self.ports.frontend),
                    "WS_URL": f"ws://localhost:{self.ports.websocket}",
                    "API_URL": f"http://localhost:{self.ports.api}",
                },
                f"{self.frontend_url}/healthz",
            ),
            *(
                [
                    Service(
                        "device-simulator",
                        [PYTHON, "-m", "device_simulator"],
                        ROOT / "services/device-simulator",
                        {
                            **mqtt,
                            "DEVICE_COUNT": str(self.simulators),
                            "QUEUE_DIR": str(self.run_dir / "device-queues"),
                            "HEALTH_HOST": "127.0.0.1",
                            "HEALTH_PORT": str(self.ports.simulator_health),
                        },
                        f"http://127.0.0.1:{self.ports.simulator_health}/health",
                    )
                ]
                if self.simulators
                else []
            ),
        ]

    def start(self, announce=lambda _msg: None) -> LocalStack:
        ports = self.ports
        self.started.append(KafkaServer(self.run_dir / "kafka", port=ports.kafka).start())
        self.started.append(MosquittoServer(self.run_dir / "mosquitto", port=ports.mqtt).start())
        from localservers.postgres import PostgresServer

        self.postgres = PostgresServer(self.run_dir / "postgres", port=ports.postgres, password=self.password)
        self.postgres.start()
        self.started.append(self.postgres)
        announce(
            f"  {'servers':<14} up   kafka :{ports.kafka}  mqtt :{ports.mqtt}  postgres :{ports.postgres}"
        )
        for service in self.services(self.postgres.dsn, self.postgres.jdbc_url):
            log_path = self.run_dir / "logs" / f"{service.name}.log"
            process = ServiceProcess(service.argv, service.env, service.cwd, log_path)
            self.started.append(process.start())
            if service.health_url:
                process.wait_healthy(service.health_url, timeout=180)
            announce(f"  {service.name:<14} up   {service.health_url or ''}")
        return self

    def failed(self) -> ServiceProcess | None:
        for item in self.started:
            if isinstance(item, ServiceProcess) and item.process.poll() is not None:
                return item
        return None

    def stop(self) -> None:
        while self.started:
            self.started.pop().stop()


def main() -> int:
    ports = Ports.compose_defaults()
    busy = [f"{name} {port}" for name, port in vars(ports).items() if port_open(port)]
    if busy:
        print(f"ports in use: {', '.join(busy)} (is compose running? docker compose down)", file=sys.stderr)
        return 1
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_dir = cache_dir() / "local"
    stack = LocalStack(
        run_dir,
        ports,
        password=os.environ.get("POSTGRES_PASSWORD", "postgres"),
        simulators=int(os.environ.get("SIMULATORS", "0")),
    )
    try:
        stack.start(announce=lambda msg: print(msg, flush=True))
        print(
            f"\nGeostream is running locally; logs in {run_dir / 'logs'}. Ctrl-C stops everything.\n"
            f"  map        {stack.frontend_url}\n"
            f"  ingest     {stack.ingest_url}/ingest/location\n"
            f"  live feed  {stack.ws_url}\n"
            f"  history    {stack.api_url}/api/trips\n"
            f"  phones     OwnTracks {stack.ingest_url}/pub   Traccar/OsmAnd {stack.ingest_url}/?id=...\n"
            f"  Kafka {stack.kafka_brokers}   MQTT :{ports.mqtt}   PostgreSQL {stack.postgres.dsn}\n",
            flush=True,
        )
        while not stopping:
            if dead := stack.failed():
                print(f"{dead.argv} exited ({dead.process.returncode}); see {dead.log_path}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        stack.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
