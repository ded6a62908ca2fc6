"""Device simulators: the SQLite offline queue, and the prototype's network-failure test automated: stop
Mosquitto while simulators publish, start it again, and every queued message arrives, in order."""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from support.kafka import read_topic

from device_simulator.offline_queue import OfflineQueue
from geostream import contracts

from .conftest import unique, wait_for_log


def test_offline_queue_is_ordered_bounded_and_durable(tmp_path):
    path = tmp_path / "vehicle_01.sqlite3"
    queue = OfflineQueue(path, max_messages=5)
    for i in range(5):
        assert queue.put(f"m{i}".encode()) == 0
    assert [p for _, p in queue.peek(0, 10)] == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    first_two = [seq for seq, _ in queue.peek(0, 2)]
    # m0 and m1 are with the MQTT client (handed over): when full, the oldest waiting one goes.
    assert queue.put(b"m5", handed_up_to=first_two[-1]) == 1
    assert [p for _, p in queue.peek(0, 10)] == [b"m0", b"m1", b"m3", b"m4", b"m5"]
    queue.remove(first_two)
    assert (len(queue), queue.dropped) == (3, 1)
    queue.close()

    reopened = OfflineQueue(path, max_messages=5)  # a restart replays what is left, in order
    assert [p for _, p in reopened.peek(0, 10)] == [b"m3", b"m4", b"m5"]
    assert (len(reopened), reopened.dropped) == (3, 1)
    for i in range(6, 9):
        reopened.put(f"m{i}".encode())
    assert [p for _, p in reopened.peek(0, 10)] == [b"m4", b"m5", b"m6", b"m7", b"m8"]
    assert reopened.dropped == 2
    reopened.close()


def per_device(records):
    """Kafka records per device, in partition (= publish) order; duplicates (at least once) dropped."""
    tracks: dict[str, list[int]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        track = tracks.setdefault(record.key, [])
        if record.value["ts"] not in track:
            track.append(record.value["ts"])
    return tracks


def test_broker_outage_every_queued_message_arrives_in_order(kafka, broker, services, topics, tmp_path):
    locations, dlq = topics
    bridge, bridge_health = services.bridge(
        kafka.bootstrap, broker, KAFKA_TOPIC=locations, KAFKA_DLQ_TOPIC=dlq
    )
    bridge.wait_healthy(bridge_health)
    prefix = unique("sim")
    simulator, health = services.simulator(
        broker,
        tmp_path / "queues",
        DEVICE_COUNT="3",
        DEVICE_ID_TEMPLATE=prefix + "-{n:02d}",
        PUBLISH_INTERVAL_S="0.1",
        SIM_SEED="42",
    )
    simulator.wait_healthy(health)
    devices = [f"{prefix}-{n:02d}" for n in (1, 2, 3)]
    read_topic(kafka.bootstrap, locations, where=lambda r: r.key in devices, count=9)

    stopped_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    broker.stop()
    assert requests.get(health, timeout=5).status_code == 503
    # The devices keep sampling: their messages wait in the SQLite queues.
    wait_for_log(
        simulator, lambda e: e.get("msg") == "stats" and all(d["queued"] >= 10 for d in e["devices"].values())
    )
    broker.start()  # same port, same persistence directory
    simulator.wait_healthy(health, timeout=60)
    reconnect = wait_for_log(bridge, lambda e: e.get("msg") == "mqtt connected" and e["time"] > stopped_at)
    assert reconnect["session_present"], "Mosquitto lost the persistent sessions over its restart"
    wait_for_log(
        simulator,
        lambda e: e.get("msg") == "stats" and e["published"] > e["generated"] - 10 and e["dropped"] == 0,
    )

    assert simulator.stop() == 0
    final = wait_for_log(simulator, lambda e: e.get("msg") == "stopped")
    assert final["queued"] == 0 and final["dropped"] == 0
    generated = {device: stats["generated"] for device, stats in final["devices"].items()}
    in_devices = lambda r: r.key in devices  # noqa: E731
    read_topic(kafka.bootstrap, locations, where=in_devices, count=sum(generated.values()), timeout=60)
    records = read_topic(kafka.bootstrap, locations, where=in_devices, settle=2.0)  # with any duplicates
    tracks = per_device(records)
    for device in devices:
        track = tracks[device]
        assert len(track) == generated[device], f"{device}: {len(track)} of {generated[device]} arrived"
        assert track == sorted(track), f"{device}: out of order"
    for record in records:
        contracts.check("locations_topic", record.value)
        assert record.value["source"] == "simulator"
    assert read_topic(kafka.bootstrap, dlq, settle=0.5) == []
