"""``python -m localservers [--default-ports]``: only the servers (Apache Kafka, Mosquitto, PostgreSQL +
MobilityDB, InfluxDB, OpenSearch), on free loopback ports (or the compose ports), in the foreground.

Prints the settings to export for running one service by hand; Ctrl-C stops the servers and removes
their data. ``make local`` runs the whole pipeline instead.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from geostream.lifecycle import Shutdown
from localservers import KafkaServer, MosquittoServer, free_port
from localservers.influxdb import InfluxDBServer
from localservers.opensearch import OpenSearchServer
from localservers.postgres import PostgresServer

DEFAULT_PORTS = {"kafka": 9092, "mqtt": 1883, "postgres": 5432, "influxdb": 8086, "search": 9200}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m localservers")
    parser.add_argument(
        "--default-ports", action="store_true", help="the compose ports (9092, 1883, 5432, 8086, 9200)"
    )
    args = parser.parse_args()
    ports = DEFAULT_PORTS if args.default_ports else {name: free_port() for name in DEFAULT_PORTS}
    workdir = Path(tempfile.mkdtemp(prefix="geostream-servers-"))
    workdir.chmod(0o755)
    shutdown = Shutdown()
    servers: list = []
    postgres = None
    try:
        servers.append(kafka := KafkaServer(workdir / "kafka", port=ports["kafka"]).start())
        servers.append(mqtt := MosquittoServer(workdir / "mosquitto", port=ports["mqtt"]).start())
        servers.append(postgres := PostgresServer(workdir / "postgres", port=ports["postgres"]).start())
        servers.append(influxdb := InfluxDBServer(workdir / "influxdb", port=ports["influxdb"]).start())
        servers.append(search := OpenSearchServer(workdir / "opensearch", port=ports["search"]).start())
        exports = {
            "KAFKA_BROKERS": kafka.bootstrap,
            "MQTT_BROKER_HOST": "127.0.0.1",
            "MQTT_BROKER_PORT": str(mqtt.port),
            **mqtt.credentials(),
            "DATABASE_URL": postgres.dsn,
            "JDBC_URL": postgres.jdbc_url,
            "JDBC_USERNAME": "postgres",
            "JDBC_PASSWORD": "postgres",
            **influxdb.env(),
            "OPENSEARCH_URL": search.url,
        }
        print(*(f"export {name}={value}" for name, value in exports.items()), "# Ctrl-C stops the servers",
              sep="\n", flush=True)  # fmt: skip
        shutdown.wait()
    finally:
        for server in reversed(servers):
            server.stop()
        if postgres is not None:
            postgres.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
