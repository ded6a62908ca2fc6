"""telegraf/telegraf.conf on the real Telegraf binary, real Kafka and real InfluxDB: only addresses and the
token come from the environment. Points keep the message's event time (old, out of order), tags and field
types are exact, and a malformed message does not stop Telegraf."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from geostream.kafka import make_producer
from localservers import free_port
from localservers.telegraf import TelegrafProcess, check_config

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "telegraf" / "telegraf.conf"


def weather(city: str, country: str, timestamp: str, temperature: float, rain: int = 0) -> dict:
    return {
        "city": city,
        "country": country,
        "station_id": f"sim-{country.lower()}-{city.lower()}",
        "timestamp": timestamp,
        "temperature": temperature,
        "humidity": 61.5,
        "wind_speed": 14,
        "precipitation": 0.8 if rain else 0,
        "next_hour_temp": temperature + 0.5,
        "next_hour_precip": 0.2,
        "is_rain": rain,
        "is_storm": 0,
        "data_origin": "simulated",
    }


@pytest.fixture(scope="module")
def telegraf(kafka, influxdb, tmp_path_factory):
    env = {"KAFKA_BROKERS": kafka.bootstrap, **influxdb.env(), "TELEGRAF_HEALTH_PORT": str(free_port())}
    check_config(CONFIG, env)
    workdir = tmp_path_factory.mktemp("telegraf")
    process = TelegrafProcess(
        CONFIG, env, workdir, health_url=f"http://127.0.0.1:{env['TELEGRAF_HEALTH_PORT']}/"
    ).start()
    yield process
    process.stop()


def produce(kafka, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = make_producer(kafka.bootstrap, client_id="test-telegraf")
    for key, value in records:
        producer.produce(topic, value, key.encode())
    assert producer.flush(30) == 0


def wait_rows(influxdb, query: str, count: int, timeout: float = 90.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        series = influxdb.influxql(query, database=influxdb.bucket)["results"][0].get("series", [])
        rows = [
            dict(zip(s["columns"], v, strict=True)) | s.get("tags", {}) for s in series for v in s["values"]
        ]
        if len(rows) >= count or time.monotonic() > deadline:
            return sorted(rows, key=lambda row: row["time"])
        time.sleep(0.5)


def test_weather_points_keep_event_time_tags_and_types(kafka, influxdb, telegraf):
    messages = [
        weather("Lyon", "FR", "2024-03-01T12:00:00Z", 11.5),
        weather("Lyon", "FR", "2024-03-01T11:00:00Z", 9.25, rain=1),  # older, sent after: out of order
        weather("Porto", "PT", "2023-12-24T18:30:00Z", 13.0),
    ]
    produce(
        kafka,
        "weather_data_v2",
        [
            ("Lyon", b'{"city": "Lyon", "timestamp": not json'),
            *((m["city"], orjson.dumps(m)) for m in messages),
        ],
    )
    rows = wait_rows(
        influxdb,
        'SELECT * FROM "weather" WHERE "city" = \'Lyon\' OR "city" = \'Porto\' GROUP BY * ORDER BY time',
        3,
    )
    assert [(r["time"], r["city"], r["temperature"], r["is_rain"]) for r in rows] == [
        (1703442600 * 10**9, "Porto", 13.0, 0),
        (1709290800 * 10**9, "Lyon", 9.25, 1),
        (1709294400 * 10**9, "Lyon", 11.5, 0),
    ]
    lyon = rows[2]
    assert (lyon["country"], lyon["station_id"], lyon["data_origin"]) == ("FR", "sim-fr-lyon", "simulated")
    fields = influxdb.influxql('SHOW FIELD KEYS FROM "weather"', database=influxdb.bucket)
    types = dict(fields["results"][0]["series"][0]["values"])
    assert types == {
        "temperature": "float", "humidity": "float", "wind_speed": "float", "precipitation": "float",
        "next_hour_temp": "float", "next_hour_precip": "float", "is_rain": "integer", "is_storm": "integer",
    }  # fmt: skip
    tags = influxdb.influxql('SHOW TAG KEYS FROM "weather"', database=influxdb.bucket)
    assert sorted(v[0] for v in tags["results"][0]["series"][0]["values"]) == [
        "city", "country", "data_origin", "station_id",
    ]  # fmt: skip
    assert telegraf.running(), telegraf.log()


def test_vehicle_telemetry_with_optional_fields(kafka, influxdb, telegraf):
    points = [
        {"vehicle_id": "tele-1", "ts": 1_700_000_000_123, "lon": 2.35, "lat": 48.85, "speed": 12.5,
         "heading": 90.0, "battery": 81.0, "accuracy": 5.0, "source": "mqtt"},
        {"vehicle_id": "tele-2", "ts": 1_700_000_001_000, "lon": -0.12, "lat": 51.5, "source": "http"},
    ]  # fmt: skip
    produce(
        kafka,
        "locations_topic",
        [("tele-x", b"\x00\xff garbage"), *((p["vehicle_id"], orjson.dumps(p)) for p in points)],
    )
    rows = wait_rows(
        influxdb,
        'SELECT * FROM "vehicle_telemetry" WHERE "vehicle_id" =~ /^tele-/ GROUP BY * ORDER BY time',
        2,
    )
    assert len(rows) == 2, telegraf.log()
    first, second = rows
    assert first["time"] == 1_700_000_000_123 * 10**6
    assert (first["vehicle_id"], first["source"], first["speed"], first["battery"]) == (
        "tele-1",
        "mqtt",
        12.5,
        81.0,
    )
    assert second["speed"] is None and second["source"] == "http" and second["lat"] == 51.5
    assert telegraf.running(), telegraf.log()
