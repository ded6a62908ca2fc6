"""Issue 9 on the real pipeline: no record makes the Flink job restart; a database outage loses nothing.

Real Kafka broker, real PostgreSQL + MobilityDB, the job on a PyFlink MiniCluster. Records are written
straight to Kafka, bypassing every edge check, as a third party may.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from flink_support import FlinkJob, encode, job_env, produce, stored_points
from support.kafka import read_topic

from localservers import free_port
from localservers.postgres import PostgresServer

pytestmark = pytest.mark.slow

FIRST_START_TIMEOUT = 420  # JVM start + planning on a busy 2-core machine
CATCH_UP_TIMEOUT = 300
OUTAGE_S = 30


def wait_for(condition, job: FlinkJob, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if not job.alive():
            pytest.fail(f"the job exited while waiting for {what}; log:\n{job.log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout} s; job log:\n{job.log()}")
        time.sleep(0.5)


def at_least(count: int, read):
    """A condition for wait_for: what ``read()`` returns once it holds ``count`` items, else None."""

    def condition():
        items = read()
        return items if len(items) >= count else None

    return condition


def poison_records(prefix: str, now_ms: int) -> list[tuple[bytes, str]]:
    """(value, DLQ reason): each would fail the JDBC batch or break the edge's rules if it got through."""
    base = {"vehicle_id": f"{prefix}ok", "ts": now_ms - 30_000, "lon": 2.35, "lat": 48.85}

    def with_(**changes) -> bytes:
        return json.dumps({**base, **changes}).encode()

    refused = "control, invisible or invalid Unicode character"
    return [
        # The report: PostgreSQL refuses NUL in text and the whole batch failed, for ever.
        (with_(vehicle_id=f"{prefix}nul\u0000id"), f"vehicle_id: {refused}"),
        (with_(vehicle_id=f"{prefix}nul", source="sim\u0000"), f"source: {refused}"),
        (with_(vehicle_id=f"{prefix}ctl\u0001"), f"vehicle_id: {refused}"),
        (with_(vehicle_id=f"{prefix}new\nline"), f"vehicle_id: {refused}"),
        (with_(vehicle_id=f"{prefix}bidi\u202e"), f"vehicle_id: {refused}"),
        (with_(vehicle_id=f"{prefix}nbsp\u00a0x"), f"vehicle_id: {refused}"),
        (with_(vehicle_id=f"{prefix}lone\ud800"), "invalid Unicode: lone surrogate escape"),
        (with_(vehicle_id=f"{prefix}bytes").replace(b"bytes", b"by\xfe\xfftes"), f"vehicle_id: {refused}"),
        (with_(vehicle_id=f"{prefix}/"), "vehicle_id: empty part between /"),
        (with_(vehicle_id=prefix + "x" * 130), "vehicle_id: longer than 128 characters"),
        (with_(source="s" * 65), "source: longer than 64 characters"),
        (with_(ts=1e308), "ts: more than 300 s in the future"),
        (with_(ts=now_ms + 3_600_000), "ts: more than 300 s in the future"),
        (with_(ts=86_400_000), "ts: before 2000-01-01T00:00:00.000Z"),
        (with_(ts=-5), "ts: before 2000-01-01T00:00:00.000Z"),
        (with_(lon="Infinity"), "lon: not a finite number"),
        (with_(lat="NaN"), "lat: not a finite number"),
        (with_().replace(b'"lat": 48.85', b'"lat": 1e400'), "lat: not a finite number"),
        # A raw NUL byte inside a JSON string is not JSON at all.
        (with_(vehicle_id=f"{prefix}rawnul").replace(b"rawnul", b"raw\x00nul"), "not a JSON object"),
    ]


def test_poison_records_go_to_the_dlq_and_never_restart_the_job(flink_job, job_topics, kafka, postgres):
    prefix = f"pz-{uuid.uuid4().hex[:6]}-"
    now_ms = int(time.time() * 1000)
    poison = poison_records(prefix, now_ms)
    # Neighbours, among them an id outside ASCII that every stage accepts (a surrogate pair in JSON).
    neighbours = [f"{prefix}n{i}" for i in range(3)] + [f"{prefix}truck-\U0001f69a-é"]
    records: list[tuple[str | None, bytes]] = []
    expected: set[tuple[str, int]] = set()
    for i in range(40):
        for vehicle in neighbours:
            ts = now_ms - 60_000 + i * 1000
            point = {"vehicle_id": vehicle, "ts": ts, "lon": 2.3 + i * 1e-4, "lat": 48.8, "source": "http"}
            if i == 7:  # absurd optional values are dropped, the point kept
                point.update(speed=1e300, alt=-1e6, battery="Infinity")
            records.append((vehicle, encode(point)))
            expected.add((vehicle, ts))
        if i < len(poison):  # poison in between, in the same batches as its neighbours
            records.append((None, poison[i][0]))
    # A point a little ahead (within the 5-minute skew) is accepted; it may lead "latest" for 2 minutes.
    ahead = (neighbours[0], now_ms + 120_000)
    records.append((ahead[0], encode({"vehicle_id": ahead[0], "ts": ahead[1], "lon": 2.4, "lat": 48.9})))
    expected.add(ahead)

    flink_job.start()
    produce(kafka.bootstrap, job_topics.locations, records)
    rows = wait_for(
        at_least(len(expected), lambda: stored_points(postgres, prefix)),
        flink_job,
        FIRST_START_TIMEOUT,
        f"{len(expected)} rows",
    )
    assert set(rows) == expected
    assert all(v[2] is None and v[4] is None and v[6] is None for v in rows.values())  # dropped, not stored

    dlq = wait_for(
        at_least(len(poison), lambda: read_topic(kafka.bootstrap, job_topics.dlq, settle=2.0)),
        flink_job,
        CATCH_UP_TIMEOUT,
        f"{len(poison)} DLQ records",
    )
    got = sorted((r.value["original"], r.value["reason"]) for r in dlq)
    want = sorted((value.decode("utf-8", "replace"), reason) for value, reason in poison)
    assert got == want
    assert flink_job.restarts() == 0, flink_job.log()

    # The job only writes points; their trajectory work waits in the segmenter's queue (no segmenter here).
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM trajectory_dirty WHERE vehicle_id LIKE %s", (f"{prefix}%",))
        assert cur.fetchone()[0] > 0


@pytest.fixture
def private_postgres(tmp_path):
    """A MobilityDB of this test's own: it is stopped for 30 s, which the session's server must not be."""
    workdir = tmp_path / "pg"
    workdir.mkdir()
    workdir.chmod(0o755)
    server = PostgresServer(workdir, port=free_port())
    server.start()
    yield server
    server.destroy()


def test_a_database_outage_of_30_s_loses_nothing(flink_python, kafka, job_topics, private_postgres, tmp_path):
    prefix = f"out-{uuid.uuid4().hex[:6]}-"
    job = FlinkJob(flink_python, job_env(kafka.bootstrap, job_topics, private_postgres), tmp_path)
    vehicles = [f"{prefix}v{i}" for i in range(4)]
    start_ms = int(time.time() * 1000) - 600_000
    sent: set[tuple[str, int]] = set()
    stop = threading.Event()

    def stream() -> None:
        i = 0
        while not stop.is_set():
            batch = []
            for vehicle in vehicles:
                ts = start_ms + i * 100
                lon, lat = 2.3 + (i % 50) * 1e-4, 48.8 + (i % 2) * 1e-4  # zigzag: every instant kept
                point = {"vehicle_id": vehicle, "ts": ts, "lon": lon, "lat": lat, "source": "simulator"}
                batch.append((vehicle, encode(point)))
                sent.add((vehicle, ts))
            produce(kafka.bootstrap, job_topics.locations, batch)
            i += 1
            time.sleep(0.05)

    job.start()
    producer = threading.Thread(target=stream)
    try:
        producer.start()
        wait_for(lambda: len(stored_points(private_postgres, prefix)) > 200, job, FIRST_START_TIMEOUT, "rows")
        private_postgres.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE_S)
        private_postgres.start()
        up_at = time.monotonic()
        time.sleep(5)  # points keep coming after the outage too
    finally:
        stop.set()
        producer.join()
    wait_for(
        lambda: len(stored_points(private_postgres, prefix)) >= len(sent), job, CATCH_UP_TIMEOUT, "catch-up"
    )
    caught_up = time.monotonic() - up_at
    time.sleep(3)  # a straggler would land within a flush interval or two
    rows = stored_points(private_postgres, prefix)
    assert set(rows) == sent
    restarts = job.restarts()
    assert restarts >= 1, "the outage did not reach the job: the test proves nothing"
    with private_postgres.connect() as conn, conn.cursor() as cur:
        for vehicle in vehicles:
            cur.execute("SELECT numInstants(vehicle_trajectory(%s))", (vehicle,))
            assert cur.fetchone()[0] == sum(1 for v, _ in sent if v == vehicle)
    print(
        f"\nflink db outage: points sent {len(sent)}, stored {len(rows)}, lost 0, duplicates 0, "
        f"outage {up_at - down_at:.0f} s, job restarts {restarts}, "
        f"caught up {caught_up:.1f} s after the database came back"
    )
    assert job.stop() == 0, job.log()
