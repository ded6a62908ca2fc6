"""MQTT -> Kafka messages/s through mqtt-bridge at QoS 1, against a raw paho subscriber in the same run.

    python bench/mqtt_bridge_bench.py [--messages 50000] [--receive-maximum 1000]

N device messages are queued in Mosquitto for two persistent sessions first (the raw subscriber's and
the bridge's), so both drain the same backlog from the same broker and the publisher's speed does not
count. The raw subscriber (paho, QoS 1, automatic PUBACK, does nothing with the payload) gives the
ceiling of a Python MQTT consumer on this machine; the bridge's rate is measured on the Kafka side, from
the broker timestamps of the first and last record: map, validate, produce with acks=all, manual PUBACK
after the Kafka acknowledgement. Both receive at most --receive-maximum unacknowledged messages.
Only the ratio is meaningful on a shared machine. Targets: >= 5,000 msg/s and >= 50 % of the raw rate.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import psutil
from common import ROOT, print_table, tree_rss_mb
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from support.kafka import read_topic
from support.processes import ServiceProcess

from localservers import KafkaServer, MosquittoServer, free_port

FILTER = "devices/+/location"
RAW_ID, BRIDGE_ID = "bench-raw", "bench-bridge"


def session(port: int, client_id: str, receive_maximum: int, **kw) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **kw)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = receive_maximum
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    return client


def create_session(port: int, client_id: str, receive_maximum: int) -> None:
    client = session(port, client_id, receive_maximum)
    client.loop_start()
    client.subscribe(FILTER, options=SubscribeOptions(qos=1))
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()


def publish(port: int, count: int) -> float:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = time.perf_counter()
    base = int(time.time() * 1000) - count
    info = None
    for i in range(count):
        point = {
            "vehicle_id": f"bench-{i % 100:03d}",
            "ts": base + i,
            "lon": 2.35 + (i % 1000) * 1e-5,
            "lat": 48.85 + (i % 777) * 1e-5,
            "speed": 12.5,
            "heading": 90.0,
            "source": "simulator",
        }
        info = client.publish(f"devices/bench-{i % 100:03d}/location", orjson.dumps(point), qos=1)
    assert info is not None
    info.wait_for_publish(300)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def raw_subscriber(port: int, count: int, receive_maximum: int) -> None:
    """Child process: drain the raw session and print rate and peak memory as JSON."""
    got = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(_c, _u, _msg) -> None:
        nonlocal got, first, last
        last = time.perf_counter()
        if got == 0:
            first = last
        got += 1
        if got >= count:
            done.set()

    client = session(port, RAW_ID, receive_maximum)
    client.on_message = on_message
    cpu_before = time.process_time()
    client.loop_start()
    done.wait(600)
    cpu = time.process_time() - cpu_before
    client.disconnect()
    client.loop_stop()
    peak = next(
        int(line.split()[1]) / 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    rate = (got - 1) / (last - first) if got > 1 else 0.0
    print(orjson.dumps({"received": got, "rate": rate, "peak_mb": peak, "cpu_us": cpu / got * 1e6}).decode())


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--receive-maximum", type=int, default=1000)
    parser.add_argument("--raw-subscriber", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_subscriber:
        raw_subscriber(args.raw_subscriber, args.messages, args.receive_maximum)
        return

    workdir = Path(tempfile.mkdtemp(prefix="mqtt-bridge-bench-"))
    kafka = KafkaServer(workdir / "kafka").start()
    broker = MosquittoServer(workdir / "mosquitto", auth=False).start()
    bridge = None
    try:
        for client_id in (RAW_ID, BRIDGE_ID):
            create_session(broker.port, client_id, args.receive_maximum)
        publish_rate = publish(broker.port, args.messages)

        raw = subprocess.run(
            [sys.executable, __file__, "--raw-subscriber", str(broker.port), "--messages", str(args.messages),
             "--receive-maximum", str(args.receive_maximum)],
            check=True, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        raw_result = orjson.loads(raw.stdout.strip().splitlines()[-1])

        health_port = free_port()
        bridge = ServiceProcess(
            [sys.executable, "-m", "mqtt_bridge"],
            {
                "KAFKA_BROKERS": kafka.bootstrap,
                "MQTT_BROKER_HOST": "127.0.0.1",
                "MQTT_BROKER_PORT": str(broker.port),
                "MQTT_CLIENT_ID": BRIDGE_ID,
                "MQTT_TOPIC_FILTERS": FILTER,
                "MQTT_RECEIVE_MAXIMUM": str(args.receive_maximum),
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(health_port),
                "LOG_LEVEL": "WARNING",
            },
            ROOT / "services" / "mqtt-bridge",
            workdir / "mqtt-bridge.log",
        ).start()
        assert bridge.process is not None
        bridge_proc = psutil.Process(bridge.process.pid)
        records = read_topic(kafka.bootstrap, "locations_topic", count=args.messages, timeout=900)
        stamps = sorted(r.timestamp_ms for r in records)
        bridge_rate = (len(stamps) - 1) / max((stamps[-1] - stamps[0]) / 1000, 1e-3)
        cpu = bridge_proc.cpu_times()
        bridge_cpu_us = (cpu.user + cpu.system) / args.messages * 1e6
        bridge_peak = peak_rss_mb(bridge.process.pid)
        bridge_rss = tree_rss_mb(bridge.process.pid)
        distinct = len({(r.key, r.value["ts"]) for r in records})
    finally:
        if bridge is not None:
            bridge.stop()
        broker.stop()
        kafka.stop()

    ratio = bridge_rate / raw_result["rate"] if raw_result["rate"] else float("nan")
    raw_line = (
        f"{raw_result['rate']:,.0f} msg/s, {raw_result['cpu_us']:.0f} us CPU/msg, "
        f"peak RSS {raw_result['peak_mb']:.0f} MB"
    )
    bridge_line = (
        f"{bridge_rate:,.0f} msg/s, {bridge_cpu_us:.0f} us CPU/msg (with start-up), "
        f"peak RSS {bridge_peak:.0f} MB (now {bridge_rss:.0f} MB)"
    )
    met = bridge_rate >= 5000 and ratio >= 0.5
    print_table(
        f"MQTT -> Kafka through mqtt-bridge, QoS 1, {args.messages} messages, "
        f"receive maximum {args.receive_maximum}",
        [
            ("publisher (paho, QoS 1)", f"{publish_rate:,.0f} msg/s"),
            ("raw paho subscriber", raw_line),
            ("mqtt-bridge -> Kafka", bridge_line),
            ("bridge / raw", f"{ratio:.0%}"),
            ("records in Kafka", f"{len(records)} ({distinct} distinct)"),
            ("target", ">= 5,000 msg/s and >= 50 % of raw: " + ("met" if met else "NOT met")),
        ],
    )


if __name__ == "__main__":
    main()
