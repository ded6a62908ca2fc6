"""A database created with the former schema (unpartitioned vehicle_points kept up to date by statement
triggers, repair queue, unlogged scratch table) migrated by applying today's sql/ over it, with data in it.

The former schema is the repository's sql/ at commit 98d4292 (the last one before the partitioned store),
extracted unchanged into fixtures/schema_98d4292/. The test writes points through the old write path (its
triggers build the trajectories), applies sql/, and checks that every point and every trajectory survives,
that the store is the new one (day partitions, no old trigger, logged queue), that new, late and corrected
points land and reach the trajectories, and that applying sql/ once more changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CURRENT_SCHEMA = ROOT / "sql"
FORMER_SCHEMA = Path(__file__).resolve().parent / "fixtures" / "schema_98d4292"
VEHICLES = ("mig-a", "mig-b", "mig-c")
UPSERT = """
INSERT INTO vehicle_points (vehicle_id, ts, lon, lat, speed, heading, source)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (vehicle_id, ts) DO UPDATE SET lon = EXCLUDED.lon, lat = EXCLUDED.lat, speed = EXCLUDED.speed,
    heading = EXCLUDED.heading, source = EXCLUDED.source"""


def apply_schema(conn, directory: Path) -> None:
    """Every *.sql file of ``directory`` in name order, each as one transaction (as PostgresServer does)."""
    with conn.cursor() as cur:
        for path in sorted(directory.glob("*.sql")):
            cur.execute(path.read_text())


def history(now: datetime) -> list[tuple]:
    """Points of three vehicles over the three previous days: two trips a day of 40 points 30 s apart
    (a gap of hours between trips, so each day has two sequences crossing several 10-minute buckets),
    plus one row with an impossible position, which is stored but left out of trajectories."""
    rows = []
    for day in range(3, 0, -1):
        for trip_start_hour in (8, 15):
            start = (now - timedelta(days=day)).replace(
                hour=trip_start_hour, minute=5, second=0, microsecond=0
            )
            for v, vehicle in enumerate(VEHICLES):
                for step in range(40):
                    ts = start + timedelta(seconds=30 * step + v)
                    # A zigzag: MobilityDB drops instants that lie on a straight line at constant speed.
                    lon = 2.0 + v * 0.1 + step * 1e-3
                    lat = 48.0 + day * 0.1 + step * 5e-4 + (step % 2) * 3e-4
                    rows.append((vehicle, ts, lon, lat, 10.0 + step % 5, 90.0, "simulator"))
    rows.append(("mig-c", now - timedelta(days=2, hours=-12), 200.0, 95.0, None, None, "simulator"))
    return rows


def stored_points(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT vehicle_id, ts, lon, lat, speed, heading, alt, accuracy, battery, source
               FROM vehicle_points ORDER BY vehicle_id, ts"""
        )
        return cur.fetchall()


def trajectories(conn) -> dict[str, tuple]:
    """Per vehicle: its whole trajectory as text, the number of instants and of sequences (trips)."""
    with conn.cursor() as cur:
        result = {}
        for vehicle in VEHICLES:
            cur.execute(
                """SELECT asText(t), numInstants(t), numSequences(t)
                   FROM (SELECT vehicle_trajectory(%s) AS t) AS x""",
                (vehicle,),
            )
            result[vehicle] = cur.fetchone()
        return result


def latest(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute("SELECT vehicle_id, ts, lon, lat FROM latest_positions() WHERE vehicle_id LIKE 'mig-%'")
        return cur.fetchall()


def scalar(conn, sql: str, params: tuple | None = None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


@pytest.fixture
def former_store(postgres) -> Iterator:
    """A database of its own on the session's MobilityDB, created with the former schema."""
    name = f"geostream_former_{uuid.uuid4().hex[:8]}"
    admin = postgres.connect()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn = postgres.connect(database=name)
    try:
        with conn.cursor() as cur:
            cur.execute("SET jit = off")
        apply_schema(conn, FORMER_SCHEMA)
        yield conn
    finally:
        conn.close()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_former_schema_with_data_migrates_to_the_partitioned_store(former_store):
    conn = former_store
    now = datetime.now(UTC)
    assert scalar(conn, "SELECT relkind FROM pg_class WHERE oid = 'vehicle_points'::regclass") == "r"

    # Written through the former write path: batched statements, a late point and a replay.
    rows = history(now)
    with conn.cursor() as cur:
        cur.executemany(UPSERT, rows[:-40])
        cur.executemany(UPSERT, rows[-40:])
        late = ("mig-b", rows[5][1] + timedelta(seconds=13), 2.1, 48.3, 7.0, 90.0, "simulator")
        cur.execute(UPSERT, late)
        cur.execute(UPSERT, rows[0])
    points_before = stored_points(conn)
    trajectories_before = trajectories(conn)
    latest_before = latest(conn)
    assert len(points_before) == len(rows) + 1
    valid_points = {v: sum(1 for p in points_before if p[0] == v and p[2] <= 180) for v in VEHICLES}
    assert {v: t[1:] for v, t in trajectories_before.items()} == {v: (valid_points[v], 6) for v in VEHICLES}
    assert len(latest_before) == len(VEHICLES)

    apply_schema(conn, CURRENT_SCHEMA)

    # The store is the new one.
    assert scalar(conn, "SELECT relkind FROM pg_class WHERE oid = 'vehicle_points'::regclass") == "p"
    assert scalar(conn, "SELECT to_regclass('trajectory_repair_queue')") is None
    assert scalar(conn, "SELECT to_regclass('vehicle_points_unpartitioned')") is None
    # The former synchronous maintenance is gone; the triggers left only log changes for the segmenter.
    for function in (
        "geostream_apply_changes_safely(geostream_point[], geostream_point[])",
        "repair_trajectories(integer)",
    ):
        assert scalar(conn, "SELECT to_regprocedure(%s)", (function,)) is None
    assert scalar(conn, "SELECT count(*) FROM pg_trigger WHERE tgname = 'trajectory_dirty_flush'") == 0
    assert scalar(conn, "SELECT relpersistence FROM pg_class WHERE oid = 'trajectory_dirty'::regclass") == "p"
    days = {r[1].astimezone(UTC).date() for r in points_before}
    for day in days:
        assert scalar(conn, "SELECT to_regclass(%s)", (f"vehicle_points_p{day:%Y%m%d}",)) is not None
    assert scalar(conn, "SELECT count(*) FROM vehicle_points_default") == 0

    # Every point survived, and every trajectory, both before the segmenter ran (queries build queued
    # buckets from the points) and after it stored the segments.
    assert stored_points(conn) == points_before
    assert scalar(conn, "SELECT queued FROM trajectory_queue_status()") > 0
    assert trajectories(conn) == trajectories_before
    scalar(conn, "SELECT segmenter_catch_up()")
    assert scalar(conn, "SELECT queued FROM trajectory_queue_status()") == 0
    assert scalar(conn, "SELECT count(*) FROM vehicle_trajectory_segments WHERE vehicle_id LIKE 'mig-%'") > 0
    assert trajectories(conn) == trajectories_before
    assert latest(conn) == latest_before

    # New points land: newer ones, a late one into a closed bucket, a correction of a stored point.
    newest = now - timedelta(minutes=2)
    new_rows = [
        (
            "mig-a",
            newest - timedelta(seconds=30 * (9 - i)),
            2.5 + i * 1e-3,
            48.5 + (i % 2) * 3e-4,
            9.0,
            45.0,
            "http",
        )
        for i in range(10)
    ]
    late_row = ("mig-b", rows[10][1] + timedelta(seconds=11), 2.11, 48.31, 6.0, 90.0, "http")
    corrected = (*rows[20][:2], rows[20][2] + 0.01, rows[20][3], *rows[20][4:])
    with conn.cursor() as cur:
        cur.executemany(UPSERT, [*new_rows, late_row, corrected])
    scalar(conn, "SELECT segmenter_catch_up()")

    after = trajectories(conn)
    assert after["mig-a"][1] == trajectories_before["mig-a"][1] + len(new_rows)
    assert after["mig-b"][1] == trajectories_before["mig-b"][1] + 1
    assert after["mig-c"] == trajectories_before["mig-c"]
    assert len(stored_points(conn)) == len(points_before) + len(new_rows) + 1
    with conn.cursor() as cur:
        cur.execute(
            "SELECT ts, lon FROM latest_positions() WHERE vehicle_id = 'mig-a'",
        )
        assert cur.fetchone() == (newest, new_rows[-1][2])
        cur.execute(
            """SELECT ST_X(valueAtTimestamp(vehicle_trajectory(%s), %s)::geometry)""",
            (corrected[0], corrected[1]),
        )
        assert cur.fetchone()[0] == pytest.approx(corrected[2])
        cur.execute(
            "SELECT valueAtTimestamp(vehicle_trajectory('mig-b'), %s) IS NOT NULL",
            (late_row[1],),
        )
        assert cur.fetchone()[0]

    # Applying the schema again is a no-op for the data.
    points_after = stored_points(conn)
    apply_schema(conn, CURRENT_SCHEMA)
    scalar(conn, "SELECT segmenter_catch_up()")
    assert stored_points(conn) == points_after
    assert trajectories(conn) == after
