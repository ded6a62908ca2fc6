"""Every query trips-api sends reads the points and segments through an index, pruned to the partitions of
its window. auto_explain prints the plan of every statement, also those nested in the query functions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from mobilitydb_helpers import query, scalar

DAY = datetime(2024, 6, 3, tzinfo=UTC)  # three days of points: June 2, 3 and 4
VEHICLES = 40


@pytest.fixture(scope="module")
def fleet(mobilitydb):
    conn = mobilitydb.connect()
    with conn.cursor() as cur:
        cur.execute("TRUNCATE vehicle_points")
        cur.execute(
            "SELECT ensure_partitions(%s, %s)",
            (DAY.date() - timedelta(days=1), DAY.date() + timedelta(days=1)),
        )
        cur.execute(
            "INSERT INTO vehicle_points (vehicle_id, ts, lon, lat, speed, source) "
            "SELECT 'plan-' || v, %s - interval '1 day' + m * interval '1 minute', "
            "       2.0 + v * 0.01 + (m %% 60) * 1e-4, 48.0 + (m %% 2) * 1e-4 + v * 0.01, 5.0, 'bench' "
            "FROM generate_series(1, %s) AS v, generate_series(0, 3 * 1440 - 1) AS m",
            (DAY, VEHICLES),
        )
        cur.execute("SELECT segmenter_catch_up()")
        cur.execute("ANALYZE")
    assert scalar(conn, "SELECT count(*) FROM vehicle_trajectory_segments") > VEHICLES * 400
    assert query(conn, "SELECT queued FROM trajectory_queue_status()") == [(0,)]
    yield conn
    with conn.cursor() as cur:
        cur.execute("TRUNCATE vehicle_points")
    conn.close()


def plans(conn, sql: str, params: tuple = ()) -> str:
    """Every plan auto_explain printed while running ``sql`` (nested statements included)."""
    conn.notices.clear()
    with conn.cursor() as cur:
        cur.execute("LOAD 'auto_explain'")
        cur.execute("SET auto_explain.log_min_duration = 0")
        cur.execute("SET auto_explain.log_nested_statements = on")
        cur.execute("SET auto_explain.log_analyze = on")  # shows what run-time pruning skipped
        cur.execute("SET auto_explain.log_timing = off")
        cur.execute("SET auto_explain.log_level = notice")
        cur.execute("SET client_min_messages = notice")
        try:
            cur.execute(sql, params)
            cur.fetchall()
        finally:
            cur.execute("SET auto_explain.log_min_duration = -1")
    return "\n".join(conn.notices)


def scanned(text: str, table: str) -> set[str]:
    """The partitions of ``table`` a plan reads, with how (``Seq Scan`` / ``Index ...``); scans that
    run-time pruning skipped ("never executed") are not reads."""
    scan = rf"((?:Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)[^\n]* on {table}_\w+)([^\n]*)"
    return {m[0] for m in re.findall(scan, text) if "never executed" not in m[1]}


START, END = DAY + timedelta(hours=10), DAY + timedelta(hours=11)
BOX = "ST_MakeEnvelope(2.05, 48.05, 2.12, 48.12, 4326)"
QUERIES = {
    "trajectory": ("SELECT * FROM vehicle_trajectory_trips('plan-7', %s, %s)", (START, END)),
    "mfjson": ("SELECT vehicle_trajectory_mfjson('plan-7', %s, %s)", (START, END)),
    "trips in a bbox": (
        f"SELECT vehicle_id FROM trips_in_area({BOX}, %s, %s, 100, 0)",
        (START, END),
    ),
    "vehicles in a bbox": (
        f"SELECT vehicle_id FROM vehicles_in_area({BOX}, %s, %s, 100, 0)",
        (START, END),
    ),
    "stats of one vehicle": ("SELECT * FROM vehicle_stats(%s, %s, 'plan-7')", (START, END)),
    "stats of every vehicle": ("SELECT * FROM vehicle_stats(%s, %s)", (START, END)),
    "device history": ("SELECT * FROM device_history('plan-7', %s, %s, 1000)", (START, END)),
    "device status": ("SELECT * FROM device_status(%s, interval '5 minutes', 'plan-7')", (END,)),
    "latest in a bbox": (
        f"SELECT * FROM latest_positions({BOX})",
        (),
    ),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_points_and_segments_are_read_through_indexes_of_the_windows_partitions(fleet, name):
    sql, params = QUERIES[name]
    text = plans(fleet, sql, params)
    assert text, "auto_explain printed nothing"
    other_days = {f"{(DAY + timedelta(days=d)):%Y%m%d}" for d in (-1, 1)}
    for table in ("vehicle_points", "vehicle_trajectory_segments"):
        for scan in scanned(text, table):
            assert not scan.startswith("Seq Scan"), f"{name}: {scan}\n{text}"
            assert not any(day in scan for day in other_days), f"{name}: not pruned: {scan}\n{text}"


def plans_of_a_round(conn, vehicles: int, newest: datetime, round_sql: str) -> tuple[str, int]:
    """A new newest point for vehicles plan-1 .. plan-``vehicles``, then ``round_sql`` (a segmenter
    round): its plans, and how many of those vehicles the round set to that point. Rolled back."""
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        try:
            cur.execute(
                "INSERT INTO vehicle_points (vehicle_id, ts, lon, lat, source) "
                "SELECT 'plan-' || v, %s, 2.07, 48.07, 'x' FROM generate_series(1, %s) AS v",
                (newest, vehicles),
            )
            text = plans(conn, round_sql)
            cur.execute("SELECT count(*) FROM vehicle_state WHERE ts = %s", (newest,))
            return text, cur.fetchone()[0]
        finally:
            cur.execute("ROLLBACK")


def test_a_round_looks_for_a_vehicles_newest_point_only_in_the_days_of_its_new_points(fleet):
    """The segmenter's round finds each touched vehicle's newest point from the time of the points it
    claimed on: it read every day's partition before (its cost grew with the days kept)."""
    newest = DAY + timedelta(days=1, hours=23, minutes=59, seconds=30)
    text, updated = plans_of_a_round(fleet, 1, newest, "SELECT * FROM segmenter_round(50000, 'plan-1')")
    assert updated == 1
    # The probe is the round's only backward scan (newest first); run-time pruning skips the older days.
    probes = {scan for scan in scanned(text, "vehicle_points") if scan.startswith("Index Scan Backward")}
    assert probes, text
    older_days = {f"{(DAY + timedelta(days=d)):%Y%m%d}" for d in (-1, 0)}
    assert not {scan for scan in probes if any(day in scan for day in older_days)}, text


def test_a_round_reads_its_claimed_rows_once_whatever_the_number_of_vehicles(fleet):
    """No step of the round joins its claimed rows to its vehicles by a nested loop over both: with a
    LATERAL per vehicle it rescanned every claimed row once per vehicle (a round of 1,000 vehicles spent
    most of its time there)."""
    newest = DAY + timedelta(days=1, hours=23, minutes=59, seconds=45)
    text, updated = plans_of_a_round(fleet, VEHICLES, newest, "SELECT * FROM segmenter_round(50000)")
    assert updated == VEHICLES
    cte_scan = r"CTE Scan on (?:claimed|dirty|touched|latest|box|todo|built)\b[^\n]*loops=(\d+)"
    rescans = re.findall(cte_scan, text)
    assert rescans, text
    assert all(loops == "1" for loops in rescans), text


WORLD = "ST_MakeEnvelope(-180, -90, 180, 90, 4326)"


# Trips come out of an incremental sort (by vehicle, then start), which reads a few groups ahead.
PAGE_OF_5_BUILDS_AT_MOST = {"vehicles_in_area": 6, "trips_in_area": VEHICLES // 2}


@pytest.mark.parametrize("function", list(PAGE_OF_5_BUILDS_AT_MOST))
def test_a_page_builds_the_trajectories_of_its_own_vehicles_only(fleet, function):
    """A world-wide page of 5 of the 40 vehicles stops once it is full: building every candidate's
    trajectory first made the map's "vehicles in view" time out with a few thousand vehicles."""
    with fleet.cursor() as cur:
        cur.execute("SET track_functions = 'pl'")  # counts calls of plpgsql functions (vehicle_trajectory)
        cur.execute("BEGIN")
        try:
            cur.execute(f"SELECT vehicle_id FROM {function}({WORLD}, %s, %s, 5, 0)", (START, END))
            assert len(cur.fetchall()) == 5
            cur.execute("SELECT calls FROM pg_stat_xact_user_functions WHERE funcname = 'vehicle_trajectory'")
            calls = cur.fetchone()[0]
        finally:
            cur.execute("ROLLBACK")
    limit = PAGE_OF_5_BUILDS_AT_MOST[function]
    assert calls <= limit, f"{function}: {calls} trajectories built for a page of 5 (of {VEHICLES})"
