"""udp-ingest as its container runs it, against the real local Kafka: datagrams of ndjson lines become
contract records keyed by sensor id, invalid lines reach the DLQ with the reason, seq gaps and floods are
counted on /metrics, TCP lines are delivered, SIGTERM flushes."""

from __future__ import annotations

import socket
import sys
import time
import uuid
from pathlib import Path

import orjson
import requests
from support.kafka import read_topic
from support.processes import ROOT, ServiceProcess

from geostream import contracts
from localservers import free_port


class Ingest:
    def __init__(self, workdir: Path, kafka, name: str, **env: str):
        self.port = free_port()
        self.health = free_port()
        self.proc = ServiceProcess(
            [sys.executable, "-m", "udp_ingest"],
            {
                "KAFKA_BROKERS": kafka.bootstrap,
                "UDP_HOST": "127.0.0.1",
                "UDP_PORT": str(self.port),
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(self.health),
                **env,
            },
            ROOT / "services/udp-ingest",
            workdir / f"{name}.log",
        )

    def __enter__(self) -> Ingest:
        self.proc.start()
        self.proc.wait_healthy(f"http://127.0.0.1:{self.health}/health", timeout=90)
        return self

    def __exit__(self, *_exc) -> None:
        self.proc.stop()

    def send(self, *payloads: bytes) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for payload in payloads:
                sock.sendto(payload, ("127.0.0.1", self.port))

    def metric(self, name: str, labels: str = "") -> float:
        text = requests.get(f"http://127.0.0.1:{self.health}/metrics", timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(f"{name}_total{labels}"):  # no labels: the sum over every label set
                total += float(line.rsplit(" ", 1)[1])
        return total

    def wait_metric(self, name: str, at_least: float, labels: str = "", timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while (value := self.metric(name, labels)) < at_least and time.monotonic() < deadline:
            time.sleep(0.2)
        return value


def line(sensor: str, second: int, **extra) -> bytes:
    record = {
        "timestamp": f"2024-01-21 10:06:{second:02d}.095931",
        "temperature": 20.9,
        "humidity": 59.22,
        "pressure": 1001.87,
        "sensor_id": sensor,
        "location": {"lon": 3.185785, "lat": 42.488629},
        **extra,
    }
    return orjson.dumps(record)


def test_datagrams_of_ndjson_lines_reach_kafka_keyed_by_sensor(kafka, workdir):
    sensor = f"buoy-{uuid.uuid4().hex[:8]}"
    with Ingest(workdir, kafka, "udp-basic", SENSOR_TIMEZONE="Europe/Paris") as ingest:
        ingest.send(line(sensor, 1), line(sensor, 2) + b"\n" + line(sensor, 3) + b"\n")
        records = read_topic(kafka.bootstrap, "sensor_readings", where=lambda r: r.key == sensor, count=3)
        assert ingest.wait_metric("udp_ingest_datagrams", 2) == 2
        assert ingest.metric("udp_ingest_lines") == 3
    stamps = sorted(r.value["timestamp"] for r in records)
    # naive times read in Europe/Paris (UTC+1 in January)
    assert stamps == [f"2024-01-21T09:06:0{s}.095931Z" for s in (1, 2, 3)]
    for record in records:
        contracts.check("sensor_readings", record.value)
        assert record.value["sensor_id"] == sensor


def test_invalid_lines_go_to_the_dlq_with_the_reason_and_their_neighbours_pass(kafka, workdir):
    sensor = f"buoy-{uuid.uuid4().hex[:8]}"
    bad_humidity = line(sensor, 5, humidity=140)
    with Ingest(workdir, kafka, "udp-dlq") as ingest:
        ingest.send(line(sensor, 4) + b"\nnot json at all\n" + bad_humidity + b"\n" + line(sensor, 6))
        good = read_topic(kafka.bootstrap, "sensor_readings", where=lambda r: r.key == sensor, count=2)
        dead = read_topic(
            kafka.bootstrap,
            "sensor_readings_dlq",
            where=lambda r: sensor in r.value["original"] or r.value["original"] == "not json at all",
            count=2,
        )
        assert ingest.wait_metric("udp_ingest_rejected", 2) == 2
        assert ingest.metric("udp_ingest_rejected", '{reason="out_of_range"}') == 1
        assert ingest.metric("udp_ingest_rejected", '{reason="not_json"}') == 1
    assert sorted(r.value["timestamp"][17:19] for r in good) == ["04", "06"]
    reasons = {r.value["original"]: r.value["reason"] for r in dead}
    assert reasons[bad_humidity.decode()].startswith("out_of_range: humidity 140")
    assert reasons["not json at all"].startswith("not_json")
    for record in dead:
        contracts.check("sensor_readings_dlq", record.value)
        assert record.value["source"] == "udp-ingest"


def test_seq_gaps_are_counted_per_sensor(kafka, workdir):
    a, b = (f"buoy-{uuid.uuid4().hex[:8]}" for _ in range(2))
    with Ingest(workdir, kafka, "udp-seq") as ingest:
        # a: 1, 2, 5 (2 missing), then a restart at 0 (no gap); b: 10, 11 (none missing)
        for payload in (
            line(a, 1, seq=1),
            line(a, 2, seq=2),
            line(b, 1, seq=10),
            line(a, 5, seq=5),
            line(b, 2, seq=11),
            line(a, 6, seq=0),
        ):
            ingest.send(payload)
            time.sleep(0.05)  # keep the order: UDP on loopback does not reorder, the queue keeps order
        assert ingest.wait_metric("udp_ingest_accepted", 6) == 6
        assert ingest.metric("udp_ingest_seq_gaps") == 2


def test_tcp_lines_on_the_same_port_are_delivered(kafka, workdir):
    sensor = f"buoy-{uuid.uuid4().hex[:8]}"
    with Ingest(workdir, kafka, "udp-tcp") as ingest:
        with socket.create_connection(("127.0.0.1", ingest.port)) as conn:
            conn.sendall(b"".join(line(sensor, s) + b"\n" for s in range(20)))
        records = read_topic(kafka.bootstrap, "sensor_readings", where=lambda r: r.key == sensor, count=20)
        assert ingest.wait_metric("udp_ingest_tcp_lines", 20) == 20
    assert len({r.value["timestamp"] for r in records}) == 20


def test_a_flood_is_dropped_and_counted_not_buffered(kafka, workdir):
    """A queue of 64 kB and a sender far faster than the producer thread: the service stays up, drops
    what does not fit, and every datagram is either accepted or counted as dropped."""
    sensor = f"flood-{uuid.uuid4().hex[:8]}"
    payload = b"\n".join(line(sensor, s % 60) for s in range(40))  # ~6 kB, 40 readings
    with Ingest(workdir, kafka, "udp-flood", QUEUE_MAX_BYTES="65536") as ingest:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _ in range(3000):
                sock.sendto(payload, ("127.0.0.1", ingest.port))
        received = ingest.wait_metric("udp_ingest_datagrams", 3000, timeout=5)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            dropped = ingest.metric("udp_ingest_dropped", '{cause="queue_full"}')
            lines = ingest.metric("udp_ingest_lines")
            if lines + 40 * dropped >= 40 * received:
                break
            time.sleep(0.5)
        assert dropped > 0
        assert lines + 40 * dropped == 40 * ingest.metric("udp_ingest_datagrams")
        assert requests.get(f"http://127.0.0.1:{ingest.health}/health", timeout=5).status_code == 200
        # still serving after the flood
        ingest.send(line(sensor + "-after", 1))
        read_topic(kafka.bootstrap, "sensor_readings", where=lambda r: r.key == sensor + "-after", count=1)


def test_sigterm_flushes_and_exits_cleanly(kafka, workdir):
    sensor = f"buoy-{uuid.uuid4().hex[:8]}"
    ingest = Ingest(workdir, kafka, "udp-stop")
    with ingest:
        ingest.send(*(line(sensor, s) for s in range(30)))
        ingest.wait_metric("udp_ingest_lines", 30)
    assert ingest.proc.process.returncode == 0, ingest.proc.log()
    records = read_topic(kafka.bootstrap, "sensor_readings", where=lambda r: r.key == sensor, count=30)
    assert len(records) == 30
    assert '"stopped"' in ingest.proc.log()
