"""ride-producer against the real broker: contract, keys, malformed share, /health, /metrics, SIGTERM."""

from __future__ import annotations

import signal
import sys
import time

import requests
from support.kafka import read_topic
from support.processes import ROOT, ServiceProcess

from geostream import contracts
from geostream.rides import price_record
from localservers import free_port

SERVICE_DIR = ROOT / "services" / "ride-producer"


def producer(kafka, topic: str, tmp_path, *args: str, **env: str) -> ServiceProcess:
    return ServiceProcess(
        [sys.executable, "-m", "ride_producer", *args],
        {
            "KAFKA_BROKERS": kafka.bootstrap,
            "KAFKA_TOPIC": topic,
            "HEALTH_HOST": "127.0.0.1",
            "RIDE_SEED": "7",
            **env,
        },
        SERVICE_DIR,
        tmp_path / "ride-producer.log",
    )


def test_rides_follow_the_contract_and_malformed_ones_reach_the_dlq_classes(kafka, ride_topics, tmp_path):
    topic = ride_topics["rides_raw"]
    proc = producer(
        kafka,
        topic,
        tmp_path,
        "--count",
        "300",
        RIDES_PER_SECOND="500",
        MALFORMED_SHARE="0.2",
        HEALTH_PORT=str(free_port()),
    ).start()
    assert proc.process.wait(120) == 0, proc.log()
    records = read_topic(kafka.bootstrap, topic, count=300, timeout=60)
    valid, reasons = [], []
    for record in records:
        outcome = price_record(record.raw)
        if outcome.result is not None:
            contracts.check("rides_raw", record.value)
            assert record.key == record.value["ride_id"]
            valid.append(outcome.result)
        else:
            reasons.append(outcome.reason.split(":")[0])
    # About a fifth broken, in every class the producer makes.
    assert 30 <= len(reasons) <= 90
    assert {"invalid JSON", "missing field", "out of range", "wrong type"} <= set(reasons)
    assert len({r["ride_id"] for r in valid}) == len(valid)
    # Realistic: New York, durations that grow with distance, the comfort mix and the aliases.
    for r in valid:
        assert 40.4 < r["origin"]["lat"] < 41.0 and -74.3 < r["origin"]["lon"] < -73.6
        assert r["duration_min"] >= r["distance_km"] * 1.35 / 28 * 60 * 0.85
    assert {r["comfort"] for r in valid} == {"low", "medium", "high"}
    assert any(rec.value and rec.value.get("comfort") in ("eco", "comfort", "business") for rec in records)


def test_health_metrics_and_sigterm_flush(kafka, ride_topics, tmp_path):
    topic = ride_topics["rides_raw"]
    port = free_port()
    proc = producer(kafka, topic, tmp_path, RIDES_PER_SECOND="50", HEALTH_PORT=str(port)).start()
    try:
        proc.wait_healthy(f"http://127.0.0.1:{port}/health", timeout=60)
        deadline = time.monotonic() + 60
        while "ride_producer_delivered_total" not in (
            metrics := requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        ):
            assert time.monotonic() < deadline
            time.sleep(0.5)
        time.sleep(1)
        proc.process.send_signal(signal.SIGTERM)
        assert proc.process.wait(60) == 0, proc.log()
    finally:
        proc.stop()
    assert "ride_producer_records_total" in metrics
    stopped = [line for line in proc.log().splitlines() if '"msg":"stopped"' in line]
    assert stopped and '"undelivered":0' in stopped[-1] and '"signal":"SIGTERM"' in stopped[-1]
    sent = int(stopped[-1].split('"delivered":')[1].split(",")[0])
    assert sent > 0
    assert len(read_topic(kafka.bootstrap, topic, count=sent, timeout=60)) == sent
