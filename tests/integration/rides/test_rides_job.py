"""rides_job.py on the PyFlink MiniCluster against the real broker.

Known rides in every accepted shape and one bad record of each DLQ class (plus poison: bytes that are
not UTF-8, a tombstone, huge numbers): rides_result must hold exactly what geostream.rides computes,
keyed by ride id; rides_dlq each reject with geostream.rides' reason and the original record; and
raw count == result count + DLQ count. The job must still be running, never restarted.
"""

from __future__ import annotations

import subprocess
import uuid

import orjson
import pytest
from support.kafka import read_topic
from support.processes import ROOT, ServiceProcess

from geostream.kafka import make_producer
from geostream.rides import price_record
from localservers import cache_dir

pytestmark = pytest.mark.slow

JOB_DIR = ROOT / "services" / "flink-job"
FIRST_START_TIMEOUT = 420  # JVM start + planning on a busy 2-core machine


@pytest.fixture(scope="session")
def flink_python():
    subprocess.run([str(JOB_DIR / "install-local.sh")], check=True)
    return cache_dir() / "flink-venv" / "bin" / "python"


def ride(**changes) -> dict:
    record = {
        "ride_id": str(uuid.uuid4()),
        "ts": "2026-12-01T10:15:30Z",
        "origin": {"lat": 40.7580, "lon": -73.9855},
        "destination": {"lat": 40.6413, "lon": -73.7781},
        "comfort": "medium",
        "duration_min": 42.5,
        "price_base": 2.5,
        "price_per_km": 1.2,
        "price_per_min": 0.35,
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def known_rides() -> list[dict]:
    return [
        ride(),
        ride(comfort="eco", ts="2026-12-01 23:59"),
        ride(comfort="business", ts="2026-12-01T10:15:30.123456+05:30", driver={"id": 7}),
        ride(comfort="comfort", ts="2026-12-31T23:30:00-0130", duration_min=0, price_base=0),
        ride(
            comfort="high",
            origin={"lat": 48.8566, "lon": 2.3522},
            destination={"lat": 51.5074, "lon": -0.1278},
        ),
        ride(origin={"lat": 10, "lon": 179.9}, destination={"lat": -10, "lon": -179.9}, duration_min=7),
        ride(origin={"lat": 40.7, "lon": -74.0}, destination={"lat": 40.7, "lon": -74.0}, price_per_km=3),
        ride(comfort="low", duration_min=12.345, price_per_min=0.333, ts="2026-06-15T08:00:00.5Z"),
    ]


def bad_records() -> list[bytes | None]:
    base = ride()
    inf = orjson.dumps(ride(price_per_km=0)).replace(b'"price_per_km":0', b'"price_per_km":1e400')
    return [
        b"{not json",
        b"\xff\xfe\x00garbage",
        None,  # a tombstone
        b"[1, 2, 3]",
        orjson.dumps({k: v for k, v in base.items() if k != "ts"}),
        orjson.dumps(ride(destination={"lat": 40.0})),
        orjson.dumps(ride(comfort=None)),
        orjson.dumps(ride(ride_id=12)),
        orjson.dumps(ride(origin=[40.0, -73.0])),
        orjson.dumps(ride(duration_min="12")),
        orjson.dumps(ride(price_base=True)),
        orjson.dumps(ride(origin={"lat": 91, "lon": 0})),
        orjson.dumps(ride(destination={"lat": 0, "lon": -180.5})),
        orjson.dumps(ride(price_per_min=-0.1)),
        orjson.dumps(ride(comfort="luxury")),
        inf,
        orjson.dumps(ride(ride_id="not-a-uuid")),
        orjson.dumps(ride(ts="2026-02-30T10:00:00Z")),
        orjson.dumps(ride(ts="2026-12-01T10:00:00Z\n")),
        orjson.dumps(ride(ts="1969-12-31T23:59:59Z")),
        orjson.dumps(ride(ts=1764584130)),
        b'{"ride_id": "' + b"\xff" * 3 + b'"}',
    ]


def test_prices_known_rides_and_routes_every_bad_class_to_the_dlq(flink_python, kafka, ride_topics, tmp_path):
    valid = known_rides()
    bad = bad_records()
    records = [(r["ride_id"].encode(), orjson.dumps(r)) for r in valid] + [(b"bad", b) for b in bad]
    producer = make_producer(kafka.bootstrap, client_id="rides-job-it")
    for key, value in records:
        producer.produce(ride_topics["rides_raw"], value, key)
    assert producer.flush(30) == 0

    env = {
        "KAFKA_BROKERS": kafka.bootstrap,
        "RIDES_RAW_TOPIC": ride_topics["rides_raw"],
        "RIDES_RESULT_TOPIC": ride_topics["rides_result"],
        "RIDES_DLQ_TOPIC": ride_topics["rides_dlq"],
        "RIDES_GROUP_ID": f"rides-it-{uuid.uuid4().hex[:8]}",
        "CHECKPOINT_INTERVAL_MS": "2000",
        "FLINK_LOG_DIR": str(tmp_path / "flink-log"),
    }
    job = ServiceProcess([str(flink_python), "rides_job.py"], env, JOB_DIR, tmp_path / "job.log").start()
    try:
        results = read_topic(
            kafka.bootstrap, ride_topics["rides_result"], count=len(valid), timeout=FIRST_START_TIMEOUT
        )
        rejects = read_topic(kafka.bootstrap, ride_topics["rides_dlq"], count=len(bad), timeout=120)
        # Nothing more arrives: every raw record gave exactly one output.
        assert len(read_topic(kafka.bootstrap, ride_topics["rides_result"], settle=5)) == len(valid)
        assert len(read_topic(kafka.bootstrap, ride_topics["rides_dlq"], settle=2)) == len(bad)
        assert job.process.poll() is None, job.log()
    finally:
        job.stop(timeout=60)

    raw = read_topic(kafka.bootstrap, ride_topics["rides_raw"], count=len(records))
    assert len(raw) == len(results) + len(rejects)

    expected = {r["ride_id"]: price_record(orjson.dumps(r)).result for r in valid}
    got = {rec.key: rec.value for rec in results}
    assert got == expected
    assert all(rec.key == rec.value["ride_id"] for rec in results)

    by_original = {rec.value["original"]: rec.value for rec in rejects}
    for value in bad:
        original = (value or b"").decode("utf-8", errors="replace")
        assert original in by_original, original
        assert by_original[original]["reason"] == price_record(value).reason, original
        assert by_original[original]["source"] == "flink-rides-job"
    flink_logs = [p.read_text(errors="replace") for p in (tmp_path / "flink-log").glob("*") if p.is_file()]
    assert any("geostream-rides" in text for text in flink_logs)  # the MiniCluster's log is there
    assert sum(text.count("to RESTARTING") for text in flink_logs) == 0
