"""The segmenter service against a real MobilityDB: rounds, late points, leadership, retention while
ingesting, a database outage, /health and /metrics."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from support.processes import ROOT

sys.path.insert(0, str(ROOT / "tests/integration/sql"))
from mobilitydb_helpers import T0, matches_stored_instants, point, query, scalar, track, upsert


def wait_until(condition, timeout: float, what: str, process=None):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.process.poll() is not None:
            pytest.fail(f"the segmenter exited while waiting for {what}:\n{process.log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout} s" + (f":\n{process.log()}" if process else ""))
        time.sleep(0.2)


def queued(db) -> int:
    return scalar(db, "SELECT queued FROM trajectory_queue_status()")


def health(url: str) -> tuple[int, dict]:
    try:
        reply = requests.get(f"{url}/health", timeout=5)
    except requests.RequestException:
        return 0, {}
    return reply.status_code, reply.json()


def segments(db, vehicle: str) -> list[tuple]:
    return query(
        db,
        "SELECT bucket, num_instants FROM vehicle_trajectory_segments WHERE vehicle_id = %s ORDER BY 1",
        (vehicle,),
    )


def test_rounds_build_closed_buckets_rebuild_late_ones_and_report(db, segmenter):
    rows = track("seg-1", T0, 300, 6.0)  # 08:00-08:30: buckets 08:00 and 08:10 close, 08:20 stays open
    upsert(db, rows, settle=False)
    process, url = segmenter()
    wait_until(lambda: queued(db) == 0, 60, "an empty queue", process)
    assert [b for b, _ in segments(db, "seg-1")] == [T0, T0 + timedelta(minutes=10)]
    assert scalar(db, "SELECT open_bucket FROM vehicle_state WHERE vehicle_id = 'seg-1'") == T0 + timedelta(
        minutes=20
    )
    assert matches_stored_instants(db, "seg-1")
    # The 2024 points first landed in the default partition; maintenance gave them their own day.
    wait_until(lambda: scalar(db, "SELECT count(*) FROM vehicle_points_default") == 0, 30, "a swept default")
    assert scalar(db, "SELECT count(*) FROM vehicle_points_p20240501") == 300

    # A late point into the first (closed) bucket, and duplicates of stored ones.
    before = dict(segments(db, "seg-1"))
    late = point("seg-1", T0 + timedelta(seconds=3), 2.3712, 48.8501)
    upsert(db, [late, *rows[10:20]], settle=False)
    wait_until(lambda: queued(db) == 0, 60, "the late point's round", process)
    after = dict(segments(db, "seg-1"))
    assert after[T0] == before[T0] + 1
    assert after[T0 + timedelta(minutes=10)] == before[T0 + timedelta(minutes=10)]
    assert matches_stored_instants(db, "seg-1")
    assert scalar(db, "SELECT count(*) FROM vehicle_points WHERE vehicle_id = 'seg-1'") == 301

    code, body = health(url)
    assert code == 200, body
    assert body["leader"] is True and body["queue_depth"] == 0 and body["last_round"]
    assert set(body["checks"]) == {"database", "rounds", "queue"}
    metrics = requests.get(f"{url}/metrics", timeout=5).text
    for line in ("segmenter_queue_depth 0.0", "segmenter_leader 1.0", "segmenter_database_up 1.0"):
        assert line in metrics
    assert "segmenter_segments_stored_total" in metrics
    assert process.stop() == 0  # SIGTERM: the loop ends, exit 0
    assert '"msg":"stopped"' in process.log().replace(" ", "")


def test_two_segmenters_one_leads_and_the_standby_takes_over(db, segmenter):
    first, first_url = segmenter()
    wait_until(lambda: health(first_url)[1].get("leader"), 30, "a leader", first)
    second, second_url = segmenter()
    time.sleep(1)
    code, body = health(second_url)
    assert code == 200 and body["leader"] is False  # a standby is healthy, and idle
    first.process.kill()  # SIGKILL: the leader lock goes with its connection
    first.process.wait()
    rows = track("seg-2", T0, 200, 6.0)
    upsert(db, rows, settle=False)
    wait_until(lambda: health(second_url)[1].get("leader"), 60, "the standby leading", second)
    wait_until(lambda: queued(db) == 0, 60, "an empty queue", second)
    assert [b for b, _ in segments(db, "seg-2")] == [T0]  # 08:10 is the open bucket
    assert matches_stored_instants(db, "seg-2")


def test_retention_drops_old_partitions_while_ingesting_and_loses_no_recent_point(store, db, segmenter):
    today = scalar(db, "SELECT current_date")
    old_days = [today - timedelta(days=d) for d in range(45, 40, -1)]
    scalar(db, "SELECT ensure_partitions(%s, %s)", (old_days[0], old_days[-1]))
    old = [
        point(
            "old-1", datetime(d.year, d.month, d.day, 12, tzinfo=UTC) + timedelta(seconds=10 * i), 2.3, 48.8
        )
        for d in old_days
        for i in range(50)
    ]
    upsert(db, old)  # settled: their segments exist too
    assert scalar(db, "SELECT count(*) FROM vehicle_trajectory_segments WHERE vehicle_id = 'old-1'") > 0

    sent: set[tuple[str, datetime]] = set()
    errors: list[BaseException] = []
    stop = threading.Event()
    writer_db = store.connect()  # a connection of its own

    def ingest() -> None:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        i = 0
        try:
            while not stop.is_set():
                batch = [
                    point(
                        f"new-{v}", start + timedelta(milliseconds=100 * i), 2.35 + i * 1e-5, 48.85 + v * 1e-3
                    )
                    for v in range(5)
                ]
                upsert(writer_db, batch, settle=False)
                sent.update((row[0], row[1]) for row in batch)
                i += 1
                time.sleep(0.01)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    writer = threading.Thread(target=ingest)
    writer.start()
    try:
        time.sleep(1)
        process, _url = segmenter(RETENTION_DAYS="30", MAINTENANCE_INTERVAL_S="0.5")
        cutoff = today - timedelta(days=30)
        wait_until(
            lambda: scalar(db, "SELECT count(*) FROM expired_partitions(%s)", (cutoff,)) == 0,
            60,
            "the expired partitions dropped",
            process,
        )
        time.sleep(1)  # and ingestion goes on
    finally:
        stop.set()
        writer.join(60)
        writer_db.close()
    assert not errors
    assert len(sent) > 100
    stored = set(query(db, "SELECT vehicle_id, ts FROM vehicle_points WHERE vehicle_id LIKE 'new-%'"))
    assert stored == sent
    assert scalar(db, "SELECT count(*) FROM vehicle_points WHERE vehicle_id = 'old-1'") == 0
    assert scalar(db, "SELECT count(*) FROM vehicle_trajectory_segments WHERE vehicle_id = 'old-1'") == 0
    for day in old_days:
        assert scalar(db, "SELECT to_regclass(%s)", (f"vehicle_points_p{day:%Y%m%d}",)) is None
    wait_until(lambda: queued(db) == 0, 60, "an empty queue", process)
    newest = dict(
        query(db, "SELECT vehicle_id, max(ts) FROM vehicle_points WHERE vehicle_id LIKE 'new-%' GROUP BY 1")
    )
    assert dict(query(db, "SELECT vehicle_id, ts FROM vehicle_state WHERE vehicle_id LIKE 'new-%'")) == newest
    assert "old-1" not in {r[0] for r in query(db, "SELECT vehicle_id FROM vehicle_latest_positions")}


def test_a_database_outage_turns_health_red_then_the_segmenter_resumes(store, db, segmenter):
    process, url = segmenter()
    db.close()
    store.stop()
    try:
        wait_until(lambda: health(url)[0] == 503, 60, "health 503", process)
        assert health(url)[1]["checks"]["database"] != "up"
    finally:
        store.start()
    wait_until(lambda: health(url)[0] == 200, 90, "health 200 again", process)
    conn = store.connect()
    try:
        upsert(conn, track("seg-3", T0, 200, 6.0), settle=False)
        wait_until(lambda: queued(conn) == 0, 60, "the rounds resuming", process)
        assert len(segments(conn, "seg-3")) == 1
        assert matches_stored_instants(conn, "seg-3")
    finally:
        conn.close()
    assert "database unavailable" in process.log()
