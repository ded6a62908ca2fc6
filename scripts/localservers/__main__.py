"""``python -m localservers [--default-ports]``: only the servers (Kafka protocol broker, Mosquitto,
PostgreSQL + MobilityDB), on free loopback ports (or the compose ports), in the foreground.

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
from localservers.postgres import PostgresServer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m localservers")
    parser.add_argument(
        "--default-ports", action="store_true", help="9092, 1883 and 5432 instead of free ports"
    )
    args = parser.parse_args()
    kafka_port, mqtt_port, pg_port = (
        (9092, 1883, 5432) if args.default_ports else (free_port(), free_port(), None)
    )
    workdir = Path(tempfile.mkdtemp(prefix="geostream-servers-"))
    workdir.chmod(0o755)
    shutdown = Shutdown()
    servers: list = []
    postgres = None
    try:
        servers.append(kafka := KafkaServer(workdir / "kafka", port=kafka_port).start())
        servers.append(mqtt := MosquittoServer(workdir / "mosquitto", port=mqtt_port).start())
        servers.append(postgres := PostgresServer(workdir / "postgres", port=pg_port or free_port()).start())
        print(
            f"export KAFKA_BROKERS={kafka.bootstrap}\n"
            f"export MQTT_BROKER_HOST=127.0.0.1 MQTT_BROKER_PORT={mqtt.port}\n"
            f"export DATABASE_URL={postgres.dsn}\n"
            f"export JDBC_URL={postgres.jdbc_url} JDBC_USERNAME=postgres JDBC_PASSWORD=postgres\n"
            "# Ctrl-C stops the servers",
            flush=True,
        )
        shutdown.wait()
    finally:
        for server in reversed(servers):
            server.stop()
        if postgres is not None:
            postgres.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
