"""sql/ applies cleanly, twice, on a fresh database; the server helper behaves."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import psycopg2
import pytest
from mobilitydb_helpers import T0, point, query, scalar, upsert

from localservers.postgres import PostgresServer

OBJECTS = {
    "table": [
        "vehicle_points", "vehicle_points_default", "vehicle_state", "vehicle_trajectory_segments",
        "vehicle_trajectory_segments_default", "trajectory_settings", "trajectory_dirty",
    ],
    "view": ["vehicle_locations_temporal_insert_view", "vehicle_latest_positions"],
    "function": [
        "latest_positions", "vehicle_trajectory", "vehicle_trajectory_mfjson", "vehicle_trajectory_trips",
        "vehicle_trips", "trips_in_area", "trips_in_bbox", "vehicles_in_area", "vehicles_in_bbox",
        "vehicle_stats", "rebuild_trajectories", "segmenter_round", "segmenter_catch_up",
        "trajectory_queue_status", "ensure_partitions", "expired_partitions", "drop_partitions_before",
        "mark_trajectories_dirty",
    ],
}  # fmt: skip


def schema_objects(conn) -> dict[str, set[str]]:
    tables = {r[0] for r in query(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    views = {r[0] for r in query(conn, "SELECT viewname FROM pg_views WHERE schemaname = 'public'")}
    functions = {
        r[0] for r in query(conn, "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace")
    }
    return {"table": tables, "view": views, "function": functions}


@contextlib.contextmanager
def scratch_database(mobilitydb: PostgresServer, name: str) -> Iterator[PostgresServer]:
    """A new, empty database on the test server (nothing applied), dropped afterwards."""
    admin = mobilitydb.connect(database="postgres")
    try:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            cur.execute(f"CREATE DATABASE {name}")
        yield PostgresServer(mobilitydb.workdir, port=mobilitydb.port, database=name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def assert_schema_objects(conn) -> dict[str, set[str]]:
    found = schema_objects(conn)
    for kind, names in OBJECTS.items():
        assert set(names) <= found[kind], kind
    return found


def test_schema_applies_twice_on_a_fresh_database(mobilitydb: PostgresServer):
    with scratch_database(mobilitydb, "geostream_apply_twice") as fresh:
        assert fresh.apply_sql() == fresh.apply_sql()
        conn = fresh.connect()
        try:
            found = assert_schema_objects(conn)
            assert scalar(conn, "SELECT count(*) FROM trajectory_settings") == 1
            triggers = {r[0] for r in query(conn, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
            assert {
                "vehicle_points_trajectory_insert",
                "vehicle_points_trajectory_update",
                "vehicle_points_trajectory_delete",
                "vehicle_points_trajectory_truncate",
                "vehicle_locations_temporal_insert_view_insert",
            } <= triggers
            indexes = {
                r[0] for r in query(conn, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
            }
            assert {"vehicle_trajectory_segments_extent_gist", "trajectory_dirty_vehicle_bucket"} <= indexes
            # Nothing unlogged: every table a query reads is on a streaming replica too.
            assert scalar(conn, "SELECT count(*) FROM pg_class WHERE relpersistence = 'u'") == 0
            # vehicle_points and the segments are partitioned by day, with days ahead ready.
            assert query(
                conn,
                "SELECT c.relname, p.partstrat FROM pg_partitioned_table p "
                "JOIN pg_class c ON c.oid = p.partrelid ORDER BY 1",
            ) == [("vehicle_points", "r"), ("vehicle_trajectory_segments", "r")]
            tomorrow = scalar(conn, "SELECT to_char(current_date + 1, 'YYYYMMDD')")
            assert {f"vehicle_points_p{tomorrow}", f"vehicle_trajectory_segments_p{tomorrow}"} <= found[
                "table"
            ]
        finally:
            conn.close()


def test_schema_applies_as_the_database_containers_init_does(mobilitydb: PostgresServer):
    """docker compose applies sql/ with psql, statement by statement (autocommit), not as one
    transaction per file: a LOCK TABLE outside a transaction block stopped the container's init once."""
    with scratch_database(mobilitydb, "geostream_container_init") as fresh:
        assert fresh.apply_sql_as_container_init() == fresh.apply_sql()
        conn = fresh.connect()
        try:
            assert_schema_objects(conn)
        finally:
            conn.close()


def test_reapplying_keeps_data_and_settings(mobilitydb: PostgresServer, db):
    upsert(db, [point("keep-1", T0 + timedelta(seconds=s), 2.0 + s * 1e-4, 48.0) for s in range(3)])
    with db.cursor() as cur:
        cur.execute("UPDATE trajectory_settings SET max_gap = interval '7 minutes'")
    mobilitydb.apply_sql()
    assert scalar(db, "SELECT count(*) FROM vehicle_points WHERE vehicle_id = 'keep-1'") == 3
    assert scalar(db, "SELECT max_gap FROM trajectory_settings") == timedelta(minutes=7)


def test_server_properties_and_versions(mobilitydb: PostgresServer, db):
    assert mobilitydb.dsn == f"postgresql://postgres:postgres@127.0.0.1:{mobilitydb.port}/geostream"
    assert mobilitydb.jdbc_url == f"jdbc:postgresql://127.0.0.1:{mobilitydb.port}/geostream"
    version = scalar(db, "SELECT mobilitydb_full_version()")
    assert version.startswith("MobilityDB 1.2")
    assert "PostGIS 3.5" in version
    assert scalar(db, "SHOW server_version_num").startswith("17")
    assert scalar(db, "SHOW listen_addresses") == "127.0.0.1"
    with psycopg2.connect(mobilitydb.dsn) as other:
        assert scalar(other, "SELECT current_database()") == "geostream"


def test_wrong_password_is_refused(mobilitydb: PostgresServer):
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(mobilitydb.dsn.replace(":postgres@", ":wrong@"), connect_timeout=5)


def test_second_server_runs_alongside_and_stops_idempotently(mobilitydb: PostgresServer, tmp_path):
    from localservers import free_port

    other = PostgresServer(tmp_path / "second", port=free_port(), database="other")
    try:
        other.start()
        conn = other.connect()
        try:
            assert scalar(conn, "SELECT count(*) FROM vehicle_points") == 0
        finally:
            conn.close()
        other.stop()
        other.stop()
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(other.dsn, connect_timeout=3)
        # The first server was not disturbed.
        conn = mobilitydb.connect()
        try:
            assert scalar(conn, "SELECT 1") == 1
        finally:
            conn.close()
    finally:
        other.destroy()
    assert not other.instance_dir.exists()


def test_reapplying_while_points_are_written_never_fails_a_writer(mobilitydb: PostgresServer, db):
    """A local server re-applies sql/ at every start, while the Flink sink and the segmenter may already
    be writing again (CI once saw 020 deadlock with the sink). The schema must wait its turn: no writer
    and no segmenter round may fail, and every point lands."""
    stop = threading.Event()
    errors: list[BaseException] = []
    written: list[int] = []

    def write(worker: int) -> None:
        conn = mobilitydb.connect()
        try:
            i = 0
            while not stop.is_set():
                rows = [
                    point(f"live-{worker}-{v}", T0 + timedelta(seconds=i), 2.0 + i * 1e-4, 48.0 + v * 1e-3)
                    for v in range(20)
                ]
                upsert(conn, rows, settle=False)
                written.append(len(rows))
                i += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    def segment() -> None:
        conn = mobilitydb.connect()
        try:
            while not stop.is_set():  # as the segmenter service does: one short round at a time
                scalar(conn, "SELECT stored FROM segmenter_round(5000)")
                time.sleep(0.05)
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(3)] + [
        threading.Thread(target=segment)
    ]
    for thread in threads:
        thread.start()
    try:
        for _ in range(5):
            mobilitydb.apply_sql()
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert sum(written) > 0
    assert scalar(db, "SELECT count(*) FROM vehicle_points WHERE vehicle_id LIKE 'live-%'") == sum(written)
