"""Kafka -> InfluxDB messages/s through Telegraf (telegraf/telegraf.conf), against the raw Kafka consumer
rate on the same backlog in the same run.

    python bench/telegraf_bench.py [--messages 100000]

N weather_data_v2 and N locations_topic messages are produced first, so both readers drain the same
backlog from the same broker. The raw consumer (confluent-kafka, one consumer group, does nothing with
the payload) gives the ceiling; Telegraf's rate is measured on the InfluxDB side: from its start until
every point of both topics is queryable. Real Telegraf, real Kafka, real InfluxDB; only the ratio is
meaningful on a shared machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import orjson
from common import ROOT, print_table, tree_rss_mb

from geostream.kafka import make_consumer, make_producer
from localservers import KafkaServer, free_port
from localservers.influxdb import InfluxDBServer
from localservers.telegraf import TelegrafProcess

TOPICS = ("weather_data_v2", "locations_topic")


def backlog(brokers: str, n: int) -> None:
    producer = make_producer(brokers, client_id="bench-telegraf", **{"linger.ms": 50})
    base_s = 1_700_000_000
    for i in range(n):
        city = f"city-{i % 50}"
        weather = {
            "city": city, "country": "XX", "station_id": f"sim-xx-{city}",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base_s + i // 50)),
            "temperature": 10 + i % 20, "humidity": 50.0, "wind_speed": 10.0, "precipitation": 0.0,
            "next_hour_temp": 11.0, "next_hour_precip": 0.0, "is_rain": 0, "is_storm": 0,
            "data_origin": "simulated",
        }  # fmt: skip
        vehicle = f"bench-{i % 1000}"
        point = {"vehicle_id": vehicle, "ts": (base_s + i // 1000) * 1000, "lon": 2.35, "lat": 48.85,
                 "speed": 10.0, "source": "simulator"}  # fmt: skip
        while True:
            try:
                producer.produce("weather_data_v2", orjson.dumps(weather), city.encode())
                producer.produce("locations_topic", orjson.dumps(point), vehicle.encode())
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(120) == 0


def raw_consumer_rate(brokers: str, total: int) -> float:
    consumer = make_consumer(brokers, group_id="bench-raw", client_id="bench-raw")
    consumer.subscribe(list(TOPICS))
    seen, started = 0, None
    while seen < total:
        for msg in consumer.consume(10_000, timeout=1.0):
            if msg.error():
                continue
            started = started or time.monotonic()
            seen += 1
    elapsed = time.monotonic() - started
    consumer.close()
    return total / elapsed


def influx_count(influxdb: InfluxDBServer) -> int:
    total = 0
    for query in (
        'SELECT count("temperature") FROM "weather"',
        'SELECT count("lon") FROM "vehicle_telemetry"',
    ):
        series = influxdb.influxql(query, database=influxdb.bucket)["results"][0].get("series", [])
        total += series[0]["values"][0][1] if series else 0
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000, help="per topic")
    args = parser.parse_args()
    total = 2 * args.messages
    # Distinct points: weather is keyed by (city, second), vehicles by (vehicle, second) in InfluxDB.
    expected = 2 * args.messages
    with tempfile.TemporaryDirectory(prefix="bench-telegraf-") as tmp:
        work = Path(tmp)
        kafka = KafkaServer(work / "kafka").start()
        influxdb = InfluxDBServer(work / "influxdb").start()
        try:
            t0 = time.monotonic()
            backlog(kafka.bootstrap, args.messages)
            produce_s = time.monotonic() - t0
            raw = raw_consumer_rate(kafka.bootstrap, total)
            health = free_port()
            env = {"KAFKA_BROKERS": kafka.bootstrap, **influxdb.env(), "TELEGRAF_HEALTH_PORT": str(health)}
            started = time.monotonic()
            telegraf = TelegrafProcess(ROOT / "telegraf/telegraf.conf", env, work / "telegraf").start()
            peak_rss = 0.0
            while (count := influx_count(influxdb)) < expected:
                peak_rss = max(peak_rss, tree_rss_mb(telegraf.process.pid))
                if time.monotonic() - started > 600:
                    raise SystemExit(
                        f"only {count} of {expected} points after 600 s:\n{telegraf.log()[-2000:]}"
                    )
                time.sleep(0.5)
            rate = total / (time.monotonic() - started)
            telegraf.stop()
        finally:
            influxdb.stop()
            kafka.stop()
    print_table(
        "Telegraf: Kafka -> InfluxDB (weather_data_v2 + locations_topic)",
        [
            ("messages", f"{total:,} ({args.messages:,} per topic), produced in {produce_s:.1f} s"),
            ("raw Kafka consumer", f"{raw:,.0f} msg/s"),
            ("through Telegraf into InfluxDB", f"{rate:,.0f} msg/s"),
            ("ratio telegraf / raw consumer", f"{rate / raw:.2f}"),
            ("Telegraf peak RSS", f"{peak_rss:.0f} MB"),
        ],
    )


if __name__ == "__main__":
    main()
