"""rides-lake against the real broker: hourly partitions by event time, and no duplicate ride after
SIGKILLs at any moment, including between durable files and the offset commit."""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pyarrow.dataset as ds
from support.processes import ROOT, ServiceProcess

from geostream.kafka import make_producer
from geostream.rides import price_record
from localservers import free_port
from rides_lake.service import LakeService
from rides_lake.settings import Settings

SERVICE_DIR = ROOT / "services" / "rides-lake"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def result(i: int) -> dict:
    moment = START + timedelta(minutes=7 * i)  # spreads the rides over many hours
    raw = {
        "ride_id": str(uuid.uuid4()),
        "ts": moment.isoformat().replace("+00:00", "Z"),
        "origin": {"lat": 40.75, "lon": -73.98},
        "destination": {"lat": 40.64, "lon": -73.77},
        "comfort": "low",
        "duration_min": 30.0,
        "price_base": 2.5,
        "price_per_km": 1.2,
        "price_per_min": 0.3,
    }
    return price_record(orjson.dumps(raw)).result


def produce(kafka, topic: str, records: list[dict]) -> None:
    producer = make_producer(kafka.bootstrap, client_id="rides-lake-it")
    for r in records:
        producer.produce(topic, orjson.dumps(r), r["ride_id"].encode())
        producer.poll(0)
    assert producer.flush(30) == 0


def lake_rows(root) -> list[dict]:
    files = [p for p in (root / "rides").rglob("*.parquet")]
    if not files:
        return []
    return ds.dataset([str(p) for p in files], format="parquet").to_table().to_pylist()


def env(kafka, topic: str, root, group: str) -> dict[str, str]:
    return {
        "KAFKA_BROKERS": kafka.bootstrap,
        "KAFKA_TOPIC": topic,
        "KAFKA_GROUP_ID": group,
        "LAKE_ROOT": str(root),
        "LAKE_ROLL_ROWS": "40",
        "LAKE_ROLL_INTERVAL_S": "1",
        "HEALTH_HOST": "127.0.0.1",
        "HEALTH_PORT": str(free_port()),
    }


def wait_for(root, count: int, proc: ServiceProcess, timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = lake_rows(root)
        if len({r["ride_id"] for r in rows}) >= count:
            return rows
        assert proc.process.poll() is None, proc.log()
        assert time.monotonic() < deadline, f"{len(rows)} of {count} rows; log:\n{proc.log()}"
        time.sleep(0.5)


def test_partitions_by_event_hour_and_no_duplicates_after_kills(kafka, ride_topics, tmp_path):
    topic, root, group = ride_topics["rides_result"], tmp_path / "lake", f"lake-it-{uuid.uuid4().hex[:6]}"
    records = [result(i) for i in range(600)]
    produce(kafka, topic, records[:300])

    # 1. Killed in the crash window: files durable, offsets not committed (done in-process, exactly).
    for key, value in env(kafka, topic, root, group).items():
        os.environ[key] = value
    try:
        service = LakeService(Settings())
        service.consumer.subscribe([topic], on_assign=service._on_assign)
        deadline = time.monotonic() + 60
        while service.writer.rows < 100 and time.monotonic() < deadline:
            for msg in service.consumer.consume(100, timeout=0.5):
                if not msg.error():
                    service.handle(msg.partition(), msg.offset(), msg.value())
        assert service.writer.flush()  # files written, never committed
        service.consumer.close()
    finally:
        for key in env(kafka, topic, root, group):
            os.environ.pop(key, None)
    uncommitted = len(lake_rows(root))
    assert uncommitted >= 100

    # 2. The service replays and is SIGKILLed twice while the rest arrives, then finishes.
    argv = [sys.executable, "-m", "rides_lake"]
    for run in range(2):
        proc = ServiceProcess(
            argv, env(kafka, topic, root, group), SERVICE_DIR, tmp_path / f"lake-{run}.log"
        ).start()
        wait_for(root, 150 + 100 * run, proc)
        if run == 0:
            produce(kafka, topic, records[300:])
        os.killpg(proc.process.pid, signal.SIGKILL)
        proc.process.wait(30)
    proc = ServiceProcess(
        argv, env(kafka, topic, root, group), SERVICE_DIR, tmp_path / "lake-final.log"
    ).start()
    try:
        rows = wait_for(root, len(records), proc)
        time.sleep(3)  # a few more roll intervals: nothing else may appear
        rows = lake_rows(root)
    finally:
        proc.process.send_signal(signal.SIGTERM)
        assert proc.process.wait(60) == 0, proc.log()

    ids = [r["ride_id"] for r in rows]
    assert len(ids) == len(set(ids)) == len(records)
    by_id = {r["ride_id"]: r for r in records}
    for path in (root / "rides").rglob("*.parquet"):
        hour_dir = "/".join(path.relative_to(root / "rides").parts[:4])
        for r in ds.dataset(str(path), format="parquet").to_table().to_pylist():
            expected = by_id[r["ride_id"]]
            assert hour_dir == expected["ts"][:13].replace("-", "/").replace("T", "/")
            assert r["price_total"] == expected["price_total"]
            assert r["ts"] == datetime.fromisoformat(expected["ts"].replace("Z", "+00:00"))
    assert not list(root.rglob("*.tmp"))


def test_sigterm_flushes_and_commits(kafka, ride_topics, tmp_path):
    topic, root, group = ride_topics["rides_result"], tmp_path / "lake", f"lake-it-{uuid.uuid4().hex[:6]}"
    records = [result(i) for i in range(30)]
    produce(kafka, topic, records)
    settings = {**env(kafka, topic, root, group), "LAKE_ROLL_ROWS": "100000", "LAKE_ROLL_INTERVAL_S": "3600"}
    proc = ServiceProcess(
        [sys.executable, "-m", "rides_lake"], settings, SERVICE_DIR, tmp_path / "lake.log"
    ).start()
    proc.wait_healthy(f"http://127.0.0.1:{settings['HEALTH_PORT']}/health", timeout=60)
    time.sleep(5)  # consumed, buffered, not rolled
    proc.process.send_signal(signal.SIGTERM)
    assert proc.process.wait(60) == 0, proc.log()
    assert sorted(r["ride_id"] for r in lake_rows(root)) == sorted(r["ride_id"] for r in records)
