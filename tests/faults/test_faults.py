"""Fault injection on the whole pipeline (real servers, one shared local stack): issue 9, item 6.

For each fault, HTTP and MQTT senders write points for their own vehicles before, during and after it;
then every acknowledged point (HTTP 202, MQTT PUBACK) must be in MobilityDB exactly once (rows and
trajectory instants) and on the live topic, within the stated bound after the fault was healed.
Each fault prints a figures line (also in the terminal summary).

Bounds, from the moment the fault is healed (the server or service is back):
- Mosquitto restarted, mqtt-bridge SIGKILLed, a WebSocket client that never reads: 90 s;
- Kafka broker SIGKILLed for 10 s: 180 s (the Flink job may be backing off, up to 30 s, before a restart);
- MobilityDB stopped for 30 s: 180 s (same back-off);
- Flink job SIGKILLed: 420 s (a new JVM and job plan on 2 busy cores, then the replay from the last
  committed offsets).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable

import pytest
import requests
from faults_support import (
    HttpSender,
    LiveClient,
    MqttSender,
    NeverReadingClient,
    Outcome,
    ingest_token,
    latest_stored,
    trajectory_instants,
    wait_caught_up,
)

from geostream.topics import WEBSOCKET_UPDATES

pytestmark = pytest.mark.slow

VEHICLES_PER_CHANNEL = 3
WARM_UP_S = 4.0
AFTER_S = 4.0


def mqtt_credentials(stack) -> dict[str, str] | None:
    credentials = getattr(stack.mosquitto, "credentials", None)
    return credentials() if credentials is not None and getattr(stack.mosquitto, "auth", False) else None


def run_fault(stack, figures: list[str], name: str, inject: Callable[[], None], bound_s: float,
              mqtt: bool = True) -> Outcome:  # fmt: skip
    prefix = f"fault-{name}-{uuid.uuid4().hex[:6]}-"
    senders: list = [
        HttpSender(
            stack.ingest_url, [f"{prefix}h{i}" for i in range(VEHICLES_PER_CHANNEL)], ingest_token(stack)
        )
    ]
    if mqtt:
        vehicles = [f"{prefix}m{i}" for i in range(VEHICLES_PER_CHANNEL)]
        senders.append(MqttSender("127.0.0.1", stack.ports.mqtt, vehicles, mqtt_credentials(stack)))
    for sender in senders:
        sender.start()
    try:
        time.sleep(WARM_UP_S)
        inject()
        healed_at = time.monotonic()
        time.sleep(AFTER_S)
    finally:
        ledgers = [sender.stop() for sender in senders]
    outcome = wait_caught_up(
        name,
        ledgers,
        prefix,
        stack.postgres.dsn,
        stack.kafka_brokers,
        WEBSOCKET_UPDATES.name,
        healed_at,
        bound_s,
    )
    figures.append(outcome.figures())
    print("\n" + outcome.figures())
    assert outcome.acked > 0, outcome.figures()
    assert (outcome.lost_db, outcome.lost_live) == (0, 0), outcome.figures()
    assert outcome.duplicates == 0, outcome.figures()
    assert outcome.invented == 0, outcome.figures()
    for ledger in ledgers:
        for vehicle in {v for v, _ in ledger.sent}:
            stored = sum(1 for v, _ in ledger.sent if v == vehicle)  # upper bound; acked is the floor
            instants = trajectory_instants(stack.postgres.dsn, vehicle)
            assert sum(1 for v, _ in ledger.acked if v == vehicle) <= instants <= stored, vehicle
    assert stack.failed() is None, f"{stack.failed().argv} exited"
    return outcome


def kill_service(stack, name: str) -> None:
    process = stack.processes[name]
    os.killpg(process.process.pid, signal.SIGKILL)
    process.process.wait(30)


def test_a_websocket_client_that_never_reads(stack, figures):
    stalled = NeverReadingClient("127.0.0.1", stack.ports.websocket)
    live = LiveClient(stack.ws_url)
    live.start()

    def inject() -> None:
        time.sleep(15)  # the stalled client sits there the whole time the others send and receive
        health = requests.get(f"http://127.0.0.1:{stack.ports.websocket}/health", timeout=5)
        assert health.status_code == 200

    try:
        outcome = run_fault(stack, figures, "ws-client-never-reads", inject, 90)
        # The well-behaved client got every vehicle's newest point, the stalled one notwithstanding.
        newest = latest_stored(stack.postgres.dsn, outcome.prefix)
        assert newest, "no point of this fault reached the database"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(live.latest.get(v, 0) < ts for v, ts in newest.items()):
            time.sleep(0.5)
        assert live.error is None, live.error
        assert {v: live.latest.get(v) for v in newest} == newest
    finally:
        live.stop()
        stalled.close()


def test_mosquitto_restarted(stack, figures):
    def inject() -> None:
        stack.mosquitto.stop()
        time.sleep(3)
        stack.mosquitto.start()

    run_fault(stack, figures, "mosquitto-restarted", inject, 90)


def test_mqtt_bridge_killed(stack, figures):
    def inject() -> None:
        kill_service(stack, "mqtt-bridge")
        time.sleep(3)
        bridge = stack.processes["mqtt-bridge"].start()
        bridge.wait_healthy(f"http://127.0.0.1:{stack.ports.bridge_health}/health", timeout=120)

    run_fault(stack, figures, "mqtt-bridge-sigkill", inject, 90)


def test_kafka_broker_killed_and_restarted(stack, figures):
    def inject() -> None:
        stack.kafka.kill()
        time.sleep(10)
        stack.kafka.start()

    run_fault(stack, figures, "kafka-sigkill", inject, 180)


def test_mobilitydb_stopped_for_30_s(stack, figures):
    def inject() -> None:
        stack.postgres.stop()
        time.sleep(30)
        stack.postgres.start()

    run_fault(stack, figures, "mobilitydb-stopped-30s", inject, 180)


def test_flink_job_killed(stack, figures):
    def inject() -> None:
        kill_service(stack, "flink-job")
        time.sleep(10)  # points keep coming while no job runs
        stack.processes["flink-job"].start()

    run_fault(stack, figures, "flink-job-sigkill", inject, 420)
