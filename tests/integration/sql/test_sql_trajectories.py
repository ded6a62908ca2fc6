"""vehicle_points upserts and the trajectories the segmenter builds from them (segmenter_round() is run
here in SQL, by ``upsert``'s settle step, as the service would run it)."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from itertools import pairwise

import psycopg2
import pytest
from mobilitydb_helpers import (
    T0,
    UPSERT,
    instants,
    matches_stored_instants,
    point,
    query,
    scalar,
    sequences,
    settle_trajectories,
    track,
    upsert,
)
from psycopg2.extras import execute_values

from localservers.postgres import PostgresServer


def expected(rows: list[tuple]) -> list[tuple]:
    """(ts, lon, lat) in time order, the last write of each timestamp winning."""
    latest = {}
    for row in rows:
        latest[row[1]] = (row[1], row[2], row[3])
    return [latest[ts] for ts in sorted(latest)]


def assert_same_instants(actual: list[tuple], wanted: list[tuple]) -> None:
    assert [a[0] for a in actual] == [w[0] for w in wanted]
    for a, w in zip(actual, wanted, strict=True):
        assert a[1] == pytest.approx(w[1], abs=1e-9)
        assert a[2] == pytest.approx(w[2], abs=1e-9)


def test_replayed_batches_are_idempotent(db):
    rows = track("idem-1", T0, 1000, 2.0)
    upsert(db, rows)
    before = scalar(db, "SELECT asText(vehicle_trajectory('idem-1'))")
    segments = query(db, "SELECT bucket, asText(trajectory) FROM vehicle_trajectory_segments ORDER BY 1")
    upsert(db, rows, settle=False)
    upsert(db, rows[100:300], settle=False)
    assert scalar(db, "SELECT queued FROM trajectory_queue_status()") == 0  # exact replays mark nothing
    assert scalar(db, "SELECT count(*) FROM vehicle_points") == 1000
    assert scalar(db, "SELECT asText(vehicle_trajectory('idem-1'))") == before
    assert (
        query(db, "SELECT bucket, asText(trajectory) FROM vehicle_trajectory_segments ORDER BY 1") == segments
    )
    assert scalar(db, "SELECT queued FROM trajectory_queue_status()") == 0


def test_upsert_overwrites_and_the_trajectory_follows(db):
    rows = track("idem-2", T0, 200, 5.0)
    upsert(db, rows)
    moved = list(rows[50])
    moved[2], moved[3], moved[4] = 2.5, 48.9, 33.0
    upsert(db, [tuple(moved)])
    stored = query(
        db, "SELECT lon, lat, speed FROM vehicle_points WHERE vehicle_id = 'idem-2' AND ts = %s", (moved[1],)
    )
    assert stored == [(2.5, 48.9, 33.0)]
    assert (moved[1], 2.5, 48.9) in instants(db, "idem-2")
    assert matches_stored_instants(db, "idem-2")


def test_out_of_order_duplicate_and_late_points_end_up_in_time_order(db):
    rows = track("ooo-1", T0, 400, 7.0)  # 46 minutes: five 10-minute buckets
    rng = random.Random(11)
    late = rows[40:60] + rows[200:205]  # arrive after the vehicle has moved buckets on
    on_time = [r for r in rows if r not in late]
    shuffled = []
    for i in range(0, len(on_time), 50):  # out of order inside each batch
        chunk = on_time[i : i + 50]
        rng.shuffle(chunk)
        shuffled.extend(chunk)
    duplicates = rng.sample(on_time, 30)
    for i in range(0, len(shuffled), 50):
        upsert(db, shuffled[i : i + 50])
    upsert(db, duplicates)
    upsert(db, late[:10])
    upsert(db, late[10:] + duplicates[:5])

    got = instants(db, "ooo-1")
    assert_same_instants(got, expected(rows))
    assert all(a[0] < b[0] for a, b in pairwise(got))
    assert sequences(db, "ooo-1") == [(rows[0][1], rows[-1][1], 400)]
    assert matches_stored_instants(db, "ooo-1")
    # Closed buckets are stored; the newest one is built on demand.
    buckets = query(db, "SELECT bucket, num_instants FROM vehicle_trajectory_segments ORDER BY bucket")
    assert [b[0] for b in buckets] == [T0 + timedelta(minutes=10 * k) for k in range(4)]
    assert scalar(db, "SELECT open_bucket FROM vehicle_state WHERE vehicle_id = 'ooo-1'") == T0 + timedelta(
        minutes=40
    )


def test_late_point_in_a_closed_bucket_rebuilds_it(db):
    rows = track("late-1", T0, 120, 10.0)  # 20 minutes
    upsert(db, rows[:60] + rows[61:])
    stored = scalar(db, "SELECT num_instants FROM vehicle_trajectory_segments WHERE vehicle_id = 'late-1'")
    upsert(db, [rows[60]])  # 10:00 exactly: first instant of the second bucket, prefix source of nothing
    upsert(db, [rows[30]])  # already there: a replay
    upsert(db, [point("late-1", rows[59][1] + timedelta(seconds=5), 2.4, 48.9)])  # a new late instant
    assert (
        scalar(db, "SELECT num_instants FROM vehicle_trajectory_segments WHERE vehicle_id = 'late-1'")
        == stored + 1
    )
    assert_same_instants(
        instants(db, "late-1"),
        expected([*rows, point("late-1", rows[59][1] + timedelta(seconds=5), 2.4, 48.9)]),
    )
    assert matches_stored_instants(db, "late-1")


def test_a_gap_longer_than_max_gap_starts_a_new_sequence(db):
    base = track("gap-1", T0, 10, 30.0)
    after_gap = track("gap-1", base[-1][1] + timedelta(minutes=6), 10, 30.0, lon0=2.36)
    just_within = track("gap-1", after_gap[-1][1] + timedelta(minutes=5), 10, 30.0, lon0=2.37)
    upsert(db, base + after_gap + just_within)
    trips = sequences(db, "gap-1")
    assert [(t[0], t[1]) for t in trips] == [
        (base[0][1], base[-1][1]),
        (after_gap[0][1], just_within[-1][1]),  # a silence of exactly max_gap does not split
    ]
    assert [t[2] for t in trips] == [10, 20]


def test_gap_setting_change_and_rebuild(db):
    first = track("gap-2", T0, 10, 30.0)
    second = track("gap-2", first[-1][1] + timedelta(minutes=8), 10, 30.0, lon0=2.36)
    upsert(db, first + second)
    assert len(sequences(db, "gap-2")) == 2
    with db.cursor() as cur:
        cur.execute(
            "UPDATE trajectory_settings "
            "SET max_gap = interval '10 minutes', bucket_width = interval '20 minutes'"
        )
        cur.execute("CALL rebuild_trajectories()")
    assert len(sequences(db, "gap-2")) == 1
    assert all(
        b[0] == b[0].replace(minute=b[0].minute - b[0].minute % 20, second=0)
        for b in query(db, "SELECT bucket FROM vehicle_trajectory_segments WHERE vehicle_id = 'gap-2'")
    )
    assert matches_stored_instants(db, "gap-2")


def test_invalid_max_gap_settings_are_rejected(db):
    with pytest.raises(psycopg2.errors.CheckViolation), db.cursor() as cur:
        cur.execute("UPDATE trajectory_settings SET max_gap = interval '2 hours'")  # > bucket_width


def test_sequences_continue_across_bucket_boundaries(db):
    rows = track("cont-1", T0 + timedelta(minutes=8), 50, 6.0)  # 08:08 -> 08:13, across 08:10
    upsert(db, rows)
    upsert(db, [point("cont-1", T0 + timedelta(minutes=25), 2.3, 48.8)])  # moves the open bucket on
    trips = sequences(db, "cont-1")
    assert trips[0] == (rows[0][1], rows[-1][1], 50)
    assert len(trips) == 2
    assert matches_stored_instants(db, "cont-1")


def test_invalid_positions_are_stored_but_never_break_the_writer(db):
    rows = track("bad-1", T0, 20, 10.0)
    bad = [
        point("bad-1", T0 + timedelta(seconds=5), 181.0, 10.0),
        point("bad-1", T0 + timedelta(seconds=15), 10.0, -90.5),
        point("bad-1", T0 + timedelta(seconds=25), float("nan"), 10.0),
        point("bad-1", T0 + timedelta(seconds=35), None, None),
        point("bad-only", T0, 500.0, 500.0),
    ]
    upsert(db, rows + bad)
    assert scalar(db, "SELECT count(*) FROM vehicle_points") == 25
    assert_same_instants(instants(db, "bad-1"), expected(rows))
    assert scalar(db, "SELECT count(*) FROM vehicle_state WHERE vehicle_id = 'bad-only'") == 0
    assert scalar(db, "SELECT queued FROM trajectory_queue_status()") == 0


def test_deleting_points_updates_trajectory_and_latest(db):
    rows = track("del-1", T0, 150, 8.0)  # 20 minutes
    upsert(db, rows)
    with db.cursor() as cur:
        cur.execute("DELETE FROM vehicle_points WHERE vehicle_id = 'del-1' AND ts >= %s", (rows[140][1],))
        cur.execute(
            "DELETE FROM vehicle_points WHERE vehicle_id = 'del-1' AND ts BETWEEN %s AND %s",
            (rows[10][1], rows[19][1]),
        )
    assert_same_instants(instants(db, "del-1"), expected(rows[:10] + rows[20:140]))  # before the segmenter
    settle_trajectories(db)
    assert_same_instants(instants(db, "del-1"), expected(rows[:10] + rows[20:140]))
    assert scalar(db, "SELECT ts FROM vehicle_latest_positions WHERE vehicle_id = 'del-1'") == rows[139][1]
    assert matches_stored_instants(db, "del-1")
    # Only the newest points deleted: the round finds no point from the deleted ones' time on, and the
    # newest is found by looking further back.
    with db.cursor() as cur:
        cur.execute("DELETE FROM vehicle_points WHERE vehicle_id = 'del-1' AND ts >= %s", (rows[130][1],))
    settle_trajectories(db)
    assert scalar(db, "SELECT ts FROM vehicle_latest_positions WHERE vehicle_id = 'del-1'") == rows[129][1]
    assert matches_stored_instants(db, "del-1")
    with db.cursor() as cur:
        cur.execute("DELETE FROM vehicle_points WHERE vehicle_id = 'del-1'")
    assert instants(db, "del-1") == []
    settle_trajectories(db)
    assert scalar(db, "SELECT count(*) FROM vehicle_state WHERE vehicle_id = 'del-1'") == 0
    assert scalar(db, "SELECT count(*) FROM vehicle_trajectory_segments WHERE vehicle_id = 'del-1'") == 0


def test_a_failing_round_never_fails_the_writer_and_keeps_its_work_queued(db):
    rows = track("fail-1", T0, 120, 10.0)
    upsert(db, rows[:60])
    with db.cursor() as cur:  # every segment write fails from now on
        cur.execute(
            "ALTER TABLE vehicle_trajectory_segments "
            "ADD CONSTRAINT injected_failure CHECK (num_instants < 0) NOT VALID"
        )
    try:
        upsert(db, rows[60:], settle=False)  # the writer's statements succeed anyway
        assert scalar(db, "SELECT count(*) FROM vehicle_points WHERE vehicle_id = 'fail-1'") == 120
        queued = scalar(db, "SELECT queued FROM trajectory_queue_status()")
        assert queued > 0
        with pytest.raises(psycopg2.errors.CheckViolation):
            settle_trajectories(db)
        # The failed round kept its rows; queries build those buckets from the stored instants meanwhile.
        assert scalar(db, "SELECT queued FROM trajectory_queue_status()") == queued
        assert_same_instants(instants(db, "fail-1"), expected(rows))
    finally:
        with db.cursor() as cur:
            cur.execute("ALTER TABLE vehicle_trajectory_segments DROP CONSTRAINT injected_failure")
    assert settle_trajectories(db) > 0
    assert query(db, "SELECT queued, oldest FROM trajectory_queue_status()") == [(0, None)]
    assert_same_instants(instants(db, "fail-1"), expected(rows))
    assert matches_stored_instants(db, "fail-1")


def test_concurrent_writers_of_one_vehicle(mobilitydb: PostgresServer, db):
    rows = track("conc-1", T0, 600, 3.0)  # 30 minutes
    rng = random.Random(5)
    rng.shuffle(rows)
    halves = [rows[::2], rows[1::2]]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(part: list[tuple]) -> None:
        conn = mobilitydb.connect(autocommit=False)
        try:
            barrier.wait()
            upsert(conn, part, batch=40)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=writer, args=(part,)) for part in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors  # writers only append to the queue: no lock for them to wait on or deadlock over
    settle_trajectories(db)
    assert scalar(db, "SELECT queued FROM trajectory_queue_status()") == 0
    assert_same_instants(instants(db, "conc-1"), expected(rows))
    assert matches_stored_instants(db, "conc-1")


def test_truncate_clears_derived_tables(db):
    upsert(db, track("trunc-1", T0, 100, 10.0))
    with db.cursor() as cur:
        cur.execute("TRUNCATE vehicle_points")
    for table in ("vehicle_state", "vehicle_trajectory_segments", "trajectory_dirty"):
        assert scalar(db, f"SELECT count(*) FROM {table}") == 0


def test_queries_see_uncommitted_and_unsegmented_changes(mobilitydb: PostgresServer, db):
    rows = track("tx-1", T0, 300, 6.0)  # 30 minutes, sent like pgjdbc: statements of 128 rows, one commit
    conn = mobilitydb.connect(autocommit=False)
    try:
        with conn.cursor() as cur:
            for i in range(0, len(rows), 128):
                execute_values(cur, UPSERT, rows[i : i + 128], page_size=128)
            assert scalar(conn, "SELECT count(*) FROM trajectory_dirty") > 0
            assert_same_instants(instants(conn, "tx-1"), expected(rows))
            assert scalar(db, "SELECT count(*) FROM vehicle_points") == 0  # not committed yet
            assert scalar(db, "SELECT count(*) FROM trajectory_dirty") == 0
        conn.commit()
    finally:
        conn.close()
    # Committed, not segmented yet: the trajectory is complete all the same.
    assert scalar(db, "SELECT count(*) FROM vehicle_trajectory_segments") == 0
    assert_same_instants(instants(db, "tx-1"), expected(rows))
    settle_trajectories(db)
    assert scalar(db, "SELECT count(*) FROM trajectory_dirty") == 0
    assert [r[0] for r in query(db, "SELECT bucket FROM vehicle_trajectory_segments ORDER BY 1")] == [
        T0,
        T0 + timedelta(minutes=10),
    ]
    assert_same_instants(instants(db, "tx-1"), expected(rows))
    assert matches_stored_instants(db, "tx-1")
