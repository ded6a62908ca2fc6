"""Helpers shared by the Flink job tests: producing records and reading back vehicle_points."""

from __future__ import annotations

import json
from pathlib import Path

from geostream.kafka import make_producer

JOB_DIR = Path(__file__).resolve().parents[3] / "services" / "flink-job"


def produce(brokers: str, topic: str, records: list[tuple[str | None, bytes | None]]) -> None:
    producer = make_producer(brokers, client_id="flink-it")
    for key, value in records:
        producer.produce(topic, key=key.encode() if key is not None else None, value=value)
        producer.poll(0)
    assert producer.flush(30) == 0


def encode(record: dict) -> bytes:
    return json.dumps(record).encode()


def stored_points(postgres, prefix: str) -> dict[tuple[str, int], tuple]:
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute(
            """SELECT vehicle_id, (extract(epoch FROM ts) * 1000)::bigint, lon, lat, speed, heading, alt,
                      accuracy, battery, source
               FROM vehicle_points WHERE vehicle_id LIKE %s""",
            (prefix + "%",),
        )
        return {(row[0], row[1]): tuple(row[2:]) for row in cur.fetchall()}
