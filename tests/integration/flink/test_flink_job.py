"""locations_job.py end to end: real Kafka broker, real PostgreSQL + MobilityDB, PyFlink MiniCluster.

Records for several vehicles in every accepted shape (aliases, s/ms/us/ns/ISO timestamps, numbers as
strings), shuffled, duplicated, corrected, late, plus invalid ones; then the job is stopped while a
producer is writing and restarted. The database must hold exactly the valid distinct instants with the
last value sent for each, the DLQ every invalid record with its reason, the live topic every valid point.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flink_support import encode, produce, stored_points
from support.kafka import read_topic

from geostream.contracts import check
from geostream.timestamps import to_epoch_ms

pytestmark = pytest.mark.slow

FIRST_START_TIMEOUT = 420  # JVM start + planning on a busy 2-core machine
RESTART_TIMEOUT = 300


def wait_for_rows(postgres, prefix: str, expected: int, job, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        rows = stored_points(postgres, prefix)
        if len(rows) >= expected:
            return rows
        if not job.alive():
            pytest.fail(f"the job exited; log:\n{job.log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{len(rows)} of {expected} rows after {timeout} s; job log:\n{job.log()}")
        time.sleep(0.5)


class Expected:
    """The last value sent for each (vehicle, instant), as the table stores it."""

    COLUMNS = ("lon", "lat", "speed", "heading", "alt", "accuracy", "battery", "source")

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], tuple] = {}

    def add(self, vehicle: str, ts_ms: int, **values) -> None:
        self.rows[(vehicle, ts_ms)] = tuple(values.get(c) for c in self.COLUMNS)


def zigzag(lat: float, i: int) -> float:
    """Alternate the heading at every point: MobilityDB drops instants of a straight, even-speed run
    (normalisation), and every instant must stay countable in the trajectory."""
    return round(lat + (i % 2) * 1e-3, 6)


def iso_with_offset(ms: int) -> str:
    plus_two = timezone(timedelta(hours=2))
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(plus_two).isoformat(timespec="milliseconds")


def shaped(vehicle: str, ts_ms: int, lon: float, lat: float, shape: int, expected: Expected) -> dict:
    """One valid point in one of the shapes third parties send; records what the table must hold."""
    if shape == 0:  # the contract itself
        expected.add(vehicle, ts_ms, lon=lon, lat=lat, speed=5.0, heading=90.0, source="simulator")
        return {"vehicle_id": vehicle, "ts": ts_ms, "lon": lon, "lat": lat, "speed": 5.0, "heading": 90,
                "source": "simulator"}  # fmt: skip
    if shape == 1:  # prototype spelling, epoch seconds with a fraction
        raw = ts_ms / 1000
        expected.add(vehicle, to_epoch_ms(raw), lon=lon, lat=lat)
        return {"vehicleID": vehicle, "timestamp": raw, "lon": lon, "lat": lat}
    if shape == 2:  # microseconds, coordinates as strings
        expected.add(vehicle, ts_ms, lon=lon, lat=lat)
        return {"vehicle_id": vehicle, "ts": ts_ms * 1000, "lon": str(lon), "lat": str(lat)}
    if shape == 3:  # nanoseconds, every optional field
        expected.add(vehicle, ts_ms, lon=lon, lat=lat, alt=35.5, accuracy=4.0, battery=80.0)
        return {"vehicle_id": vehicle, "ts": ts_ms * 1_000_000, "lon": lon, "lat": lat, "alt": 35.5,
                "accuracy": 4, "battery": 80}  # fmt: skip
    if shape == 4:  # ISO 8601 with an offset, longitude/latitude spelled out
        text = iso_with_offset(ts_ms)
        expected.add(vehicle, to_epoch_ms(text), lon=lon, lat=lat)
        return {"vehicle_id": vehicle, "ts": text, "longitude": lon, "latitude": lat}
    # digit string; unusable optional values are dropped, the point kept
    expected.add(vehicle, ts_ms, lon=lon, lat=lat)
    return {"vehicleId": vehicle, "ts": str(ts_ms), "lon": lon, "lat": lat, "speed": -3, "battery": 150,
            "heading": "north"}  # fmt: skip


def invalid_records(prefix: str, now_ms: int) -> list[tuple[str | None, bytes | None, str]]:
    """(key, value, expected DLQ reason) for records that must never reach the table."""
    v = f"{prefix}bad"
    point = {"vehicle_id": v, "ts": now_ms - 60_000, "lon": 2.35, "lat": 48.85}

    def variant(**changes) -> bytes:
        record = {**point, **changes}
        return encode({k: val for k, val in record.items() if val is not None})

    return [
        (v, b"not json at all", "not a JSON object"),
        (v, b"\xff\xfe{broken", "not a JSON object"),
        (v, b"", "not a JSON object"),
        (v, None, "empty record"),
        (v, b'[{"vehicle_id": "x"}]', "not a JSON object"),
        (v, encode({"ts": now_ms, "lon": 1.0, "lat": 1.0, "marker": 1}), "vehicle_id: missing"),
        (v, variant(vehicle_id="   "), "vehicle_id: must not be empty"),
        (v, variant(vehicle_id=v + "x" * 200), "vehicle_id: longer than 128 characters"),
        (v, variant(ts=None, marker=2), "ts: missing"),
        (v, variant(ts="yesterday"), "ts: not an epoch number or ISO 8601 date-time"),
        (v, variant(ts=now_ms + 3 * 86_400_000), "ts: more than 300 s in the future"),
        (v, variant(ts=now_ms + 600_000), "ts: more than 300 s in the future"),
        (v, variant(ts=0), "ts: before 2000-01-01T00:00:00.000Z"),
        (v, variant(lon=None, marker=3), "lon: missing"),
        (v, variant(lat="abc"), "lat: not a finite number"),
        (v, variant(lon="NaN"), "lon: not a finite number"),
        (v, variant(lon=181.5), "lon: outside [-180, 180]"),
        (v, variant(lat=-90.5), "lat: outside [-90, 90]"),
    ]


def test_points_dlq_live_feed_and_restart(flink_job, job_topics, kafka, postgres):
    prefix = f"fl-{uuid.uuid4().hex[:6]}-"
    rng = random.Random(7)
    now_ms = int(time.time()) * 1000
    t0 = now_ms - 3_600_000
    expected = Expected()
    vehicles = [f"{prefix}v{n}" for n in range(4)]

    # Batch A: 4 vehicles x 24 points in every shape, each vehicle's records shuffled (out of order).
    batch: list[tuple[str, bytes]] = []
    for n, vehicle in enumerate(vehicles):
        records = [
            (vehicle, encode(shaped(vehicle, t0 + n * 7 + i * 2000 + 123, round(2.3 + n * 0.01 + i * 5e-4, 6),
                                    zigzag(48.8 + i * 3e-4, i), i % 6, expected)))
            for i in range(24)
        ]  # fmt: skip
        rng.shuffle(records)
        batch += records
    batch += rng.sample(batch, 10)  # exact duplicates
    # A corrected instant: same vehicle and time, sent later, new speed; the later value wins.
    fix_ts = t0 + 2000 * 6 + 123
    batch.append((vehicles[0], encode({"vehicle_id": vehicles[0], "ts": fix_ts, "lon": 2.303, "lat": 48.8018,
                                       "speed": 7.5, "heading": 90, "source": "simulator"})))  # fmt: skip
    expected.add(vehicles[0], fix_ts, lon=2.303, lat=48.8018, speed=7.5, heading=90.0, source="simulator")
    invalid = invalid_records(prefix, now_ms)
    batch += [(k, v) for k, v, _ in invalid]

    flink_job.start()
    produce(kafka.bootstrap, job_topics.locations, batch)
    wait_for_rows(postgres, prefix, len(expected.rows), flink_job, FIRST_START_TIMEOUT)

    # Late points: two hours older than each vehicle's latest; still stored.
    late = []
    for n, vehicle in enumerate(vehicles):
        for i in range(3):
            ts = t0 - 7_200_000 + n * 11 + i * 1000
            late.append((vehicle, encode(shaped(vehicle, ts, 2.2 + i * 1e-3, zigzag(48.7, i), 0, expected))))
    produce(kafka.bootstrap, job_topics.locations, late)
    wait_for_rows(postgres, prefix, len(expected.rows), flink_job, RESTART_TIMEOUT)

    # Mid-stream stop: a producer writes two more vehicles while the job is stopped and restarted.
    streaming = [f"{prefix}s{n}" for n in range(2)]
    stream_records = []
    for i in range(1500):
        vehicle = streaming[i % 2]
        ts = t0 + 1_800_000 + i * 100
        stream_records.append(
            (vehicle, encode(shaped(vehicle, ts, 3.0 + i * 1e-5, zigzag(50.0, i // 2), 0, expected)))
        )
    before_stream = len(stored_points(postgres, prefix))

    def stream() -> None:
        for start in range(0, len(stream_records), 50):
            produce(kafka.bootstrap, job_topics.locations, stream_records[start : start + 50])
            time.sleep(0.05)

    producer = threading.Thread(target=stream)
    producer.start()
    wait_for_rows(postgres, prefix, before_stream + 100, flink_job, RESTART_TIMEOUT)
    assert flink_job.stop() == 0, flink_job.log()
    producer.join()
    stored_while_down = len(stored_points(postgres, prefix))
    assert stored_while_down < len(expected.rows), "the job was not stopped mid-stream"
    flink_job.start()
    rows = wait_for_rows(postgres, prefix, len(expected.rows), flink_job, RESTART_TIMEOUT)

    # Exactly the valid distinct instants, each with the last value sent.
    time.sleep(3)  # a straggler would land within a flush interval or two
    rows = stored_points(postgres, prefix)
    assert set(rows) == set(expected.rows)
    assert rows == expected.rows

    # Trajectories derived in the database hold every instant once, restart and replays included.
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT max_gap FROM trajectory_settings")
        (max_gap,) = cur.fetchone()
        for vehicle in vehicles + streaming:
            points = sorted((ts, v[0], v[1]) for (vid, ts), v in expected.rows.items() if vid == vehicle)
            cur.execute(
                "SELECT numInstants(t), length(t) FROM (SELECT vehicle_trajectory(%s) AS t) q", (vehicle,)
            )
            instants, length = cur.fetchone()
            assert instants == len(points), vehicle
            assert length == pytest.approx(path_length(points, max_gap.total_seconds() * 1000), rel=0.01)

    # The live topic: every valid point, keyed by vehicle, in the websocket contract.
    live = read_topic(kafka.bootstrap, job_topics.websocket, settle=3.0)
    for record in live:
        check("websocket_updates_topic", record.value)
        assert record.key == record.value["vehicle_id"]
    assert {(r.value["vehicle_id"], r.value["ts"]) for r in live} == set(expected.rows)
    latest = {(r.value["vehicle_id"], r.value["ts"]): r.value for r in live}
    for key, value in latest.items():
        lon, lat, speed, heading = expected.rows[key][:4]
        assert (value["lon"], value["lat"], value.get("speed"), value.get("heading")) == (
            lon,
            lat,
            speed,
            heading,
        )

    # The DLQ: every invalid record, as received, with its reason (a replay may repeat some).
    dlq = read_topic(kafka.bootstrap, job_topics.dlq, settle=3.0)
    for record in dlq:
        check("locations_dlq", record.value)
        assert record.value["source"] == "flink-job"
        assert record.value["topic"] == job_topics.locations
    got = {(r.value["original"], r.value["reason"]) for r in dlq}
    want = {((v or b"").decode("utf-8", "replace"), reason) for _, v, reason in invalid}
    assert got == want


def path_length(points: list[tuple[int, float, float]], max_gap_ms: float) -> float:
    """Metres along consecutive points (haversine), not across gaps that split a trajectory."""
    total = 0.0
    for (t1, lon1, lat1), (t2, lon2, lat2) in itertools.pairwise(points):
        if t2 - t1 > max_gap_ms:
            continue
        p1, p2 = math.radians(lat1), math.radians(lat2)
        a = (
            math.sin((p2 - p1) / 2) ** 2
            + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
        )
        total += 2 * 6_371_008.8 * math.asin(math.sqrt(a))
    return total
