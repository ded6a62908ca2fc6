"""weather-producer as its container runs it, against the real local Kafka: the prototype's CLI, one
contract-valid message per city and round, keyed by city; the API path through the labelled Visual
Crossing stand-in, and the fallback to simulation when the API refuses; a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from support.kafka import read_topic
from support.processes import ROOT, ServiceProcess
from support.visual_crossing_standin import Reply, VisualCrossingStandIn

from geostream import contracts
from localservers import free_port

RECORDED = (ROOT / "tests/unit/weather_producer/responses/paris_metric.json").read_bytes()


def producer(workdir: Path, kafka, name: str, *args: str, **env: str) -> ServiceProcess:
    health_port = free_port()
    return ServiceProcess(
        [sys.executable, "-m", "weather_producer", *args],
        {
            "KAFKA_BROKERS": kafka.bootstrap,
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(health_port),
            "WEATHER_SEED": "42",
            **env,
        },
        ROOT / "services/weather-producer",
        workdir / f"{name}.log",
    )


def records_of(kafka, cities: set[str], count: int):
    """This test's records: other tests share the session's weather_data_v2."""
    return read_topic(
        kafka.bootstrap, "weather_data_v2", where=lambda r: r.key in cities, count=count, timeout=30
    )


def test_simulated_rounds_reach_kafka_keyed_by_city(kafka, workdir):
    proc = producer(workdir, kafka, "weather-sim", "--num", "2", WEATHER_CITIES="Oslo:NO,Lima:PE").start()
    assert proc.process.wait(150) == 0, proc.log()
    records = records_of(kafka, {"Oslo", "Lima"}, 4)
    assert sorted(r.key for r in records) == ["Lima", "Lima", "Oslo", "Oslo"]
    for record in records:
        contracts.check("weather_data_v2", record.value)
        assert record.value["data_origin"] == "simulated"
        assert record.value["city"] == record.key


def test_api_answer_then_429_falls_back_to_simulation(kafka, workdir):
    replies = [Reply(body=RECORDED), Reply(429, b"", {"Retry-After": "3600"})]
    with VisualCrossingStandIn(replies) as api:
        proc = producer(
            workdir,
            kafka,
            "weather-api",
            "--num",
            "2",
            "--interval",
            "0.1",
            WEATHER_CITIES="Reims:FR",
            VISUAL_CROSSING_API_KEY="test-key",
            VISUAL_CROSSING_BASE_URL=api.base_url,
            WEATHER_API_REFRESH_S="0",
        ).start()
        assert proc.process.wait(150) == 0, proc.log()
    reims = read_topic(kafka.bootstrap, "weather_data_v2", where=lambda r: r.key == "Reims", count=2)
    assert [r.value["data_origin"] for r in reims] == ["api", "simulated"]
    assert reims[0].value["timestamp"] == "2025-09-26T14:05:00Z"
    assert reims[0].value["station_id"] == "LFPB"
    assert "test-key" not in proc.log()


def test_continuous_mode_stops_cleanly_on_sigterm(kafka, workdir):
    proc = producer(
        workdir, kafka, "weather-cont", "--continuous", "--interval", "0.2", WEATHER_CITIES="Kiruna:SE"
    )
    proc.start()
    read_topic(kafka.bootstrap, "weather_data_v2", where=lambda r: r.key == "Kiruna", count=3, timeout=30)
    proc.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert proc.process.wait(20) == 0, proc.log()
    assert time.monotonic() - started < 20
