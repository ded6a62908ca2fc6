"""The whole pipeline on this machine, without Docker: ``make local`` and the e2e tests.

:class:`LocalStack` starts the real servers (Apache Kafka, Mosquitto, PostgreSQL + MobilityDB, and for
``make local`` InfluxDB and OpenSearch too), then every service as a child process with the environment its
container gets. ``make local`` uses the compose ports (:meth:`Ports.compose_defaults`) and writes the
connection settings it uses to ``$GEOSTREAM_CACHE/local/settings.env``; the e2e tests use free ports, so
both can run at once.
"""

from __future__ import annotations

import os
import secrets
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
    influxdb: int
    search: int
    search_shim: int
    udp_ingest: int
    udp_ingest_health: int
    es_indexer_health: int
    buoy_simulator_health: int
    ride_producer_health: int
    rides_lake_health: int
    rides_analytics_health: int
    weather_health: int
    telegraf_health: int
    segmenter_health: int

    @classmethod
    def compose_defaults(cls) -> Ports:
        return cls(
            kafka=9092, mqtt=1883, postgres=5432, ingest=5000, websocket=8082, api=8083, frontend=8080,
            bridge_health=8090, simulator_health=8091, influxdb=8086, search=9200, search_shim=9201,
            udp_ingest=20001, udp_ingest_health=8093, es_indexer_health=8097, buoy_simulator_health=8098,
            ride_producer_health=8094, rides_lake_health=8095, rides_analytics_health=8096,
            weather_health=8092, telegraf_health=8099, segmenter_health=8100,
        )  # fmt: skip

    @classmethod
    def free(cls) -> Ports:
        return cls(**{name: free_port() for name in cls.__dataclass_fields__})


SECRET_NAMES = ("POSTGRES_PASSWORD", "INGEST_TOKEN", "MQTT_USERNAME", "MQTT_PASSWORD")


def read_dotenv(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a .env file (comments and blank lines skipped, optional quotes removed)."""
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            name, sep, value = line.strip().partition("=")
            if sep and name and not name.startswith("#"):
                values[name.strip()] = value.strip().strip("'\"")
    return values


def local_secrets(secrets_file: Path, dotenv: Path = ROOT / ".env") -> dict[str, str]:
    """The secrets ``make local`` uses: from the environment, else the repository's .env, else the ones
    generated on the first run (kept in ``secrets_file``, mode 600, so they survive restarts)."""
    stored = read_dotenv(secrets_file)
    from_dotenv = read_dotenv(dotenv)
    generated = {
        "POSTGRES_PASSWORD": "postgres",
        "INGEST_TOKEN": secrets.token_urlsafe(24),
        "MQTT_USERNAME": "geostream",
        "MQTT_PASSWORD": secrets.token_urlsafe(18),
    }
    chosen = {
        name: os.environ.get(name) or from_dotenv.get(name) or stored.get(name) or generated[name]
        for name in SECRET_NAMES
    }
    if chosen != stored:
        write_dotenv(secrets_file, chosen, "Secrets of `make local`, generated on its first run.")
    return chosen


def write_dotenv(path: Path, values: dict[str, str], title: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", *(f"{name}={value}" for name, value in values.items())]
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n")


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
    time_series_and_search: bool = False
    """Also InfluxDB and OpenSearch (``make local``; the e2e tests of the vehicle pipeline need neither)."""
    secrets: dict[str, str] = field(default_factory=dict)
    """INGEST_TOKEN, MQTT_USERNAME, MQTT_PASSWORD, ... (:func:`local_secrets`); empty in the e2e tests."""
    started: list = field(default_factory=list)
    influxdb: object | None = None
    kafka: KafkaServer | None = None
    mosquitto: MosquittoServer | None = None
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    """Each running service by name (the fault-injection tests kill and restart them)."""
    search: object | None = None
    search_shim: object | None = None
    buoys: int = 3
    """Simulated buoys sending UDP to udp-ingest (with the search engine only: make local BUOYS=3)."""
    rides: bool = False
    """The rides pipeline: producer, pricing job (a second MiniCluster), lake, analytics (make local RIDES=0
    leaves it out)."""

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

    def connection_settings(self) -> dict[str, str]:
        """What a user or a script needs to reach every local server, with the services' variable names."""
        settings = {
            "KAFKA_BROKERS": self.kafka_brokers,
            "DATABASE_URL": self.postgres.dsn,
            "JDBC_URL": self.postgres.jdbc_url,
            "JDBC_USERNAME": "postgres",
            "JDBC_PASSWORD": self.password,
            "MQTT_BROKER_HOST": "127.0.0.1",
            "MQTT_BROKER_PORT": str(self.ports.mqtt),
            "INGEST_URL": self.ingest_url,
            "WS_URL": self.ws_url,
            "API_URL": self.api_url,
            "FRONTEND_URL": self.frontend_url,
        }
        if self.influxdb is not None:
            settings |= {
                "INFLUXDB_URL": self.influxdb.url,
                "INFLUXDB_TOKEN": self.influxdb.token,
                "INFLUXDB_ORG": self.influxdb.org,
                "INFLUXDB_BUCKET": self.influxdb.bucket,
            }
        if self.search is not None:
            # Services use the official Elasticsearch client, which needs the shim in front of OpenSearch
            # (tests/SEARCH_ENGINE.md); curl works against either.
            settings["ELASTICSEARCH_URL"] = self.search_shim.url
            settings["OPENSEARCH_URL"] = self.search.url
        return settings | {name: value for name, value in self.secrets.items() if name != "POSTGRES_PASSWORD"}

    def reader_access(self, tokens_var: str, origins_var: str) -> dict[str, str]:
        """ws-relay's and trips-api's access settings: INGEST_TOKEN, or the map's origin (no token in the
        browser). Without secrets (the e2e tests) both stay open."""
        token = self.secrets.get("INGEST_TOKEN")
        if not token:
            return {}
        port = self.ports.frontend
        return {tokens_var: token, origins_var: f"http://localhost:{port},http://127.0.0.1:{port}"}

    def services(self, dsn: str, jdbc_url: str) -> list[Service]:
        kafka = {"KAFKA_BROKERS": self.kafka_brokers}
        mqtt = {"MQTT_BROKER_HOST": "127.0.0.1", "MQTT_BROKER_PORT": str(self.ports.mqtt)}
        # Mosquitto refuses anonymous clients: the bridge reads with its account, the simulator publishes
        # with the admin account.
        auth = self.mosquitto is not None and getattr(self.mosquitto, "auth", False)
        bridge_login = self.mosquitto.credentials("bridge") if auth else {}
        admin_login = self.mosquitto.credentials() if auth else {}
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
                    # With a generated INGEST_TOKEN (make local) writes need it; the e2e stack has none.
                    **{k: self.secrets[k] for k in ("INGEST_TOKEN", "INGEST_TOKENS") if self.secrets.get(k)},
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
                "segmenter",
                [PYTHON, "-m", "segmenter"],
                ROOT / "services/segmenter",
                {
                    "DATABASE_URL": dsn,
                    "HEALTH_HOST": "127.0.0.1",
                    "HEALTH_PORT": str(self.ports.segmenter_health),
                },
                f"http://127.0.0.1:{self.ports.segmenter_health}/health",
            ),
            Service(
                "ws-relay",
                [PYTHON, "-m", "ws_relay"],
                ROOT / "services/ws-relay",
                {
                    **kafka,
                    "WEBSOCKET_HOST": "0.0.0.0",
                    "WEBSOCKET_PORT": str(self.ports.websocket),
                    **self.reader_access("RELAY_TOKENS", "RELAY_ALLOWED_ORIGINS"),
                },
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
                    **self.reader_access("API_TOKENS", "API_ALLOWED_ORIGINS"),
                },
                f"{self.api_url}/health",
            ),
            Service(
                "mqtt-bridge",
                [PYTHON, "-m", "mqtt_bridge"],
                ROOT / "services/mqtt-bridge",
                {
                    **kafka,
                    **mqtt,
                    **bridge_login,
                    "HEALTH_HOST": "127.0.0.1",
                    "HEALTH_PORT": str(self.ports.bridge_health),
                },
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
            *(self.time_series_services(kafka) if self.influxdb is not None else []),
            *(self.buoy_services(kafka) if self.search is not None else []),
            *(self.ride_services(kafka) if self.rides else []),
            *(
                [
                    Service(
                        "device-simulator",
                        [PYTHON, "-m", "device_simulator"],
                        ROOT / "services/device-simulator",
                        {
                            **mqtt,
                            **admin_login,
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

    def metrics_urls(self) -> dict[str, str]:
        """telegraf.conf's METRICS_URL_<SERVICE>: every service's /metrics on its local port."""
        ports = self.ports
        return {
            f"METRICS_URL_{name}": f"http://127.0.0.1:{port}/metrics{query}"
            for name, port, query in (
                ("HTTP_INGEST", ports.ingest, ""),
                ("MQTT_BRIDGE", ports.bridge_health, ""),
                ("WS_RELAY", ports.websocket, "?format=prometheus"),
                ("TRIPS_API", ports.api, ""),
                ("WEATHER_PRODUCER", ports.weather_health, ""),
                ("UDP_INGEST", ports.udp_ingest_health, ""),
                ("RIDE_PRODUCER", ports.ride_producer_health, ""),
                ("RIDES_LAKE", ports.rides_lake_health, ""),
                ("ES_INDEXER", ports.es_indexer_health, ""),
                ("SEGMENTER", ports.segmenter_health, ""),
            )
        }

    def time_series_services(self, kafka: dict[str, str]) -> list[Service]:
        """weather-producer -> weather_data_v2 -> Telegraf (telegraf/telegraf.conf) -> InfluxDB."""
        from localservers.telegraf import telegraf_binary

        ports = self.ports
        return [
            Service(
                "weather-producer",
                [PYTHON, "-m", "weather_producer", "--continuous", "--interval", "10"],
                ROOT / "services/weather-producer",
                {**kafka, "HEALTH_HOST": "127.0.0.1", "HEALTH_PORT": str(ports.weather_health)},
                f"http://127.0.0.1:{ports.weather_health}/health",
            ),
            Service(
                "telegraf",
                [telegraf_binary(), "--config", str(ROOT / "telegraf/telegraf.conf")],
                ROOT / "telegraf",
                {
                    **kafka,
                    **self.influxdb.env(),
                    "TELEGRAF_HEALTH_PORT": str(ports.telegraf_health),
                    **self.metrics_urls(),
                },
                f"http://127.0.0.1:{ports.telegraf_health}/",
            ),
        ]

    def ride_services(self, kafka: dict[str, str]) -> list[Service]:
        """ride-producer -> rides_raw -> rides_job.py -> rides_result -> rides-lake -> rides-analytics
        (es-indexer, with the buoys, also indexes rides_result: its default INDEXER_TOPICS has both)."""
        ports, lake = self.ports, str(self.run_dir / "lake")
        health = {"HEALTH_HOST": "127.0.0.1"}
        return [
            Service(
                "ride-producer",
                [PYTHON, "-m", "ride_producer"],
                ROOT / "services/ride-producer",
                {
                    **kafka,
                    **health,
                    "HEALTH_PORT": str(ports.ride_producer_health),
                    "MALFORMED_SHARE": "0.02",
                },
                f"http://127.0.0.1:{ports.ride_producer_health}/health",
            ),
            Service(
                "flink-rides-job",
                [str(cache_dir() / "flink-venv" / "bin" / "python"), "rides_job.py"],
                ROOT / "services/flink-job",
                {**kafka, "FLINK_CHECKPOINT_DIR": f"file://{self.run_dir / 'flink-rides-checkpoints'}"},
            ),
            Service(
                "rides-lake",
                [PYTHON, "-m", "rides_lake"],
                ROOT / "services/rides-lake",
                {**kafka, **health, "HEALTH_PORT": str(ports.rides_lake_health), "LAKE_ROOT": lake},
                f"http://127.0.0.1:{ports.rides_lake_health}/health",
            ),
            Service(
                "rides-analytics",
                [PYTHON, "-m", "rides_analytics", "--every"],
                ROOT / "services/rides-analytics",
                {
                    **health,
                    "HEALTH_PORT": str(ports.rides_analytics_health),
                    "LAKE_ROOT": lake,
                    "ANALYTICS_OUTPUT_DIR": str(self.run_dir / "analytics"),
                    "ANALYTICS_INTERVAL_S": "300",
                    # the rides-revenue index, when the search engine runs (es-indexer indexes the rides)
                    **({"ELASTICSEARCH_URL": self.search_shim.url} if self.search_shim is not None else {}),
                },
                f"http://127.0.0.1:{ports.rides_analytics_health}/health",
            ),
        ]

    def buoy_services(self, kafka: dict[str, str]) -> list[Service]:
        """Buoys -> udp-ingest (UDP) -> Kafka -> es-indexer -> the search engine, through the shim."""
        ports = self.ports
        udp_ingest = Service(
            "udp-ingest",
            [PYTHON, "-m", "udp_ingest"],
            ROOT / "services/udp-ingest",
            {
                **kafka,
                "UDP_HOST": "0.0.0.0",
                "UDP_PORT": str(ports.udp_ingest),
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(ports.udp_ingest_health),
            },
            f"http://127.0.0.1:{ports.udp_ingest_health}/health",
        )
        es_indexer = Service(
            "es-indexer",
            [PYTHON, "-m", "es_indexer"],
            ROOT / "services/es-indexer",
            {
                **kafka,
                "ELASTICSEARCH_URL": self.search_shim.url,
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(ports.es_indexer_health),
            },
            f"http://127.0.0.1:{ports.es_indexer_health}/health",
        )
        simulator = Service(
            "buoy-simulator",
            [PYTHON, "-m", "buoy_simulator"],
            ROOT / "services/buoy-simulator",
            {
                "UDP_HOST": "127.0.0.1",
                "UDP_PORT": str(ports.udp_ingest),
                "BUOY_COUNT": str(self.buoys),
                "BUOY_ID_PREFIX": "local-buoy",
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(ports.buoy_simulator_health),
            },
            f"http://127.0.0.1:{ports.buoy_simulator_health}/health",
        )
        return [udp_ingest, es_indexer, *([simulator] if self.buoys else [])]

    def start(self, announce=lambda _msg: None) -> LocalStack:
        ports = self.ports
        self.kafka = KafkaServer(self.run_dir / "kafka", port=ports.kafka).start()
        self.started.append(self.kafka)
        self.mosquitto = MosquittoServer(
            self.run_dir / "mosquitto",
            port=ports.mqtt,
            username=self.secrets.get("MQTT_USERNAME"),
            password=self.secrets.get("MQTT_PASSWORD"),
        ).start()
        self.started.append(self.mosquitto)
        from localservers.postgres import PostgresServer

        self.postgres = PostgresServer(self.run_dir / "postgres", port=ports.postgres, password=self.password)
        self.postgres.start()
        self.started.append(self.postgres)
        announce(
            f"  {'servers':<14} up   kafka :{ports.kafka}  mqtt :{ports.mqtt}  postgres :{ports.postgres}"
        )
        if self.time_series_and_search:
            from localservers.influxdb import InfluxDBServer
            from localservers.opensearch import OpenSearchServer

            self.influxdb = InfluxDBServer(self.run_dir / "influxdb", port=ports.influxdb).start()
            self.started.append(self.influxdb)
            self.search = OpenSearchServer(self.run_dir / "opensearch", port=ports.search).start()
            self.started.append(self.search)
            from support.search_shim import ElasticsearchShim

            self.search_shim = ElasticsearchShim(self.search.url, port=ports.search_shim).start()
            self.started.append(self.search_shim)
            announce(
                f"  {'servers':<14} up   influxdb :{ports.influxdb}  opensearch :{ports.search}"
                f"  (Elasticsearch client shim :{ports.search_shim})"
            )
        for service in self.services(self.postgres.dsn, self.postgres.jdbc_url):
            log_path = self.run_dir / "logs" / f"{service.name}.log"
            process = ServiceProcess(service.argv, service.env, service.cwd, log_path)
            self.processes[service.name] = process
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
    local = local_secrets(run_dir / "secrets.env")
    stack = LocalStack(
        run_dir,
        ports,
        password=local["POSTGRES_PASSWORD"],
        simulators=int(os.environ.get("SIMULATORS", "0")),
        buoys=int(os.environ.get("BUOYS", "3")),
        rides=os.environ.get("RIDES", "1") != "0",
        time_series_and_search=True,
        secrets=local,
    )
    settings_file = run_dir / "settings.env"
    try:
        stack.start(announce=lambda msg: print(msg, flush=True))
        settings = stack.connection_settings()
        write_dotenv(settings_file, settings, "Connection settings of `make local` (set -a; . this file).")
        print(f"\nsettings ({settings_file}):", *(f"  {k}={v}" for k, v in settings.items()), sep="\n")
        print(
            f"\nGeostream is running locally; logs in {run_dir / 'logs'}. Ctrl-C stops everything.\n"
            f"  map        {stack.frontend_url}\n"
            f"  ingest     {stack.ingest_url}/ingest/location\n"
            f"  live feed  {stack.ws_url}\n"
            f"  history    {stack.api_url}/api/trips\n"
            f"  phones     OwnTracks {stack.ingest_url}/pub   Traccar/OsmAnd {stack.ingest_url}/?id=...\n"
            f"  buoys      UDP/TCP ndjson :{ports.udp_ingest} -> data stream sensor-readings"
            f" ({stack.search.url}/sensor-readings/_search)\n"
            f"  rides      rides_raw -> rides_result / rides_dlq -> Parquet {run_dir / 'lake'}"
            f" -> revenue by zone every 5 min ({run_dir / 'analytics'})\n"
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
