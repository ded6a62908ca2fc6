"""Datagrams/s through udp-ingest into Kafka, and loss, against a raw UDP receive loop in the same run.

    python bench/udp_ingest_bench.py [--seconds 5] [--rates 2000,10000,max]

For each send rate, one sender process sends single-reading datagrams (the buoys' format) for
``--seconds``: first to a raw receive loop (recv and count, nothing else: the ceiling of a Python socket
reader on this machine), then to udp-ingest (parse, validate, produce to the local Kafka, acks=all).
Loss = 1 - received (raw) or delivered to Kafka (udp-ingest) / sent. Only the ratios are meaningful on a
shared machine.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import socket
import sys
import tempfile
import time
from pathlib import Path

import orjson
import requests
from common import print_table, tree_rss_mb
from support.processes import ROOT, ServiceProcess

from localservers import KafkaServer, free_port

RECEIVE_BUFFER = 4 * 1024 * 1024
T0_US = 1_705_831_564_000_000


def payloads(count: int) -> list[bytes]:
    out = []
    for i in range(count):
        ts = (T0_US + i * 1000) / 1e6
        out.append(
            orjson.dumps(
                {
                    "timestamp": ts,
                    "temperature": 20.9,
                    "humidity": 59.22,
                    "pressure": 1001.87,
                    "sensor_id": f"bench-{i % 50}",
                    "location": {"lon": 3.185785, "lat": 42.488629},
                    "seq": i // 50,
                }
            )
        )
    return out


def send(port: int, rate: float | None, seconds: float, sent: mp.Value, window: mp.Array) -> None:
    data = payloads(50_000)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", port)
    start = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
    window[0] = start
    n = 0
    while (elapsed := time.monotonic() - start) < seconds:
        if rate is not None and n >= rate * elapsed:
            time.sleep(0.0005)
            continue
        try:
            sock.sendto(data[n % len(data)], target)
        except OSError:  # ENOBUFS under a flood: not sent, not counted
            continue
        n += 1
    sent.value = n
    window[1] = time.monotonic()


def raw_receiver(port: int, received: mp.Value, stop: mp.Event) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.2)
    count = 0
    while not stop.is_set():
        try:
            sock.recv(65_535)
            count += 1
            received.value = count
        except TimeoutError:
            continue


def free_udp_port() -> int:
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def run_sender(port: int, rate: float | None, seconds: float) -> tuple[int, float, float]:
    """Datagrams sent, and when sending started and ended (time.monotonic())."""
    sent, window = mp.Value("q", 0), mp.Array("d", 2)
    sender = mp.Process(target=send, args=(port, rate, seconds, sent, window))
    sender.start()
    sender.join()
    return sent.value, window[0], window[1]


def raw_run(rate: float | None, seconds: float) -> tuple[int, int, float]:
    port = free_udp_port()
    received, stop = mp.Value("q", 0), mp.Event()
    receiver = mp.Process(target=raw_receiver, args=(port, received, stop))
    receiver.start()
    time.sleep(0.5)
    sent, start, end = run_sender(port, rate, seconds)
    time.sleep(1.0)
    stop.set()
    receiver.join()
    return sent, received.value, end - start


def metric(health: int, name: str) -> float:
    text = requests.get(f"http://127.0.0.1:{health}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def ingest_run(kafka: KafkaServer, workdir: Path, rate: float | None, seconds: float) -> tuple[int, dict]:
    port, health = free_udp_port(), free_port()
    proc = ServiceProcess(
        [sys.executable, "-m", "udp_ingest"],
        {
            "KAFKA_BROKERS": kafka.bootstrap,
            "UDP_HOST": "127.0.0.1",
            "UDP_PORT": str(port),
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(health),
            "MAX_FUTURE_S": str(10**9),
            "LOG_LEVEL": "WARNING",
        },
        ROOT / "services/udp-ingest",
        workdir / f"udp-ingest-{rate}.log",
    ).start()
    try:
        proc.wait_healthy(f"http://127.0.0.1:{health}/health", timeout=90)
        sent, start, _end = run_sender(port, rate, seconds)
        # wait until every received datagram was either delivered, rejected or dropped
        delivered = 0.0
        while True:
            received = metric(health, "udp_ingest_datagrams_total")
            dropped = metric(health, "udp_ingest_dropped_total")
            delivered = metric(health, 'udp_ingest_delivered_total{topic="sensor_readings"}')
            rejected = metric(health, "udp_ingest_rejected_total")
            if delivered + dropped + rejected >= received:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - start
        figures = {
            "received": received,
            "dropped": dropped,
            "rejected": rejected,
            "delivered": delivered,
            "elapsed": elapsed,
            "rss_mb": tree_rss_mb(proc.process.pid),
        }
    finally:
        proc.stop()
    return sent, figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="2000,10000,max")
    args = parser.parse_args()
    rates = [None if r == "max" else float(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="udp-bench-") as tmp:
        workdir = Path(tmp)
        kafka = KafkaServer(workdir / "kafka", port=free_port()).start()
        try:
            rows = []
            for rate in rates:
                label = "max" if rate is None else f"{rate:.0f}/s"
                sent, received, elapsed = raw_run(rate, args.seconds)
                rows.append(
                    (
                        f"raw recv loop, send {label}",
                        f"{received / elapsed:,.0f} datagrams/s, loss {1 - received / max(sent, 1):.1%} "
                        f"({received:,} of {sent:,})",
                    )
                )
                sent, f = ingest_run(kafka, workdir, rate, args.seconds)
                loss = 1 - f["delivered"] / max(sent, 1)
                rows.append(
                    (
                        f"udp-ingest -> Kafka, send {label}",
                        f"{f['delivered'] / f['elapsed']:,.0f} records/s, loss {loss:.1%} "
                        f"(received {f['received']:,.0f}, dropped full queue {f['dropped']:,.0f}, "
                        f"delivered {f['delivered']:,.0f} of {sent:,}); RSS {f['rss_mb']:.0f} MB",
                    )
                )
            print_table(f"udp-ingest, {args.seconds:.0f} s per run, single-reading datagrams", rows)
        finally:
            kafka.stop()


if __name__ == "__main__":
    main()
