"""Helpers shared by the MobilityDB schema tests (tests/integration/sql)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from psycopg2.extras import execute_values

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
EARTH_RADIUS_M = 6_371_008.8

# Optional window bounds of the query functions (None = unbounded).
WINDOW = "coalesce(%s::timestamptz, '-infinity'), coalesce(%s::timestamptz, 'infinity')"

# The statement the Flink JDBC sink (PostgreSQL dialect) sends, batched.
UPSERT = (
    "INSERT INTO vehicle_points (vehicle_id, ts, lon, lat, speed, heading, alt, accuracy, battery, source) "
    "VALUES %s ON CONFLICT (vehicle_id, ts) DO UPDATE SET "
    "vehicle_id = excluded.vehicle_id, ts = excluded.ts, "
    "lon = excluded.lon, lat = excluded.lat, speed = excluded.speed, heading = excluded.heading, "
    "alt = excluded.alt, accuracy = excluded.accuracy, battery = excluded.battery, source = excluded.source"
)


def point(vehicle: str, ts: datetime, lon: float, lat: float, speed: float | None = None, heading=None):
    return (vehicle, ts, lon, lat, speed, heading, None, None, None, "simulator")


def upsert(conn, rows: list[tuple], batch: int = 1000, settle: bool = True) -> None:
    """One transaction per batch of rows, like the JDBC sink; then, unless ``settle`` is false, wait for
    the segmenter (one catch-up run here, instead of the service)."""
    autocommit = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            for i in range(0, len(rows), batch):
                execute_values(cur, UPSERT, rows[i : i + batch], page_size=batch)
                conn.commit()
    finally:
        conn.autocommit = autocommit
    if settle:
        settle_trajectories(conn)


def settle_trajectories(conn) -> int:
    """Run the segmenter's rounds until every committed change is in segments and vehicle_state."""
    with conn.cursor() as cur:
        cur.execute("SELECT segmenter_catch_up()")
        stored = cur.fetchone()[0]
    if not conn.autocommit:
        conn.commit()
    return stored


def track(vehicle: str, start: datetime, count: int, step_s: float, lon0=2.35, lat0=48.85, radius=0.02):
    """Points along a circle with a little jitter: no three consecutive points are collinear at
    constant speed, so MobilityDB keeps every instant."""
    rows = []
    for i in range(count):
        angle = i * 0.07
        jitter = ((i * 7919) % 13 - 6) * 2e-6
        lon = lon0 + radius * math.cos(angle) + jitter
        lat = lat0 + radius * 0.7 * math.sin(angle) - jitter
        rows.append(point(vehicle, start + timedelta(seconds=i * step_s), lon, lat, speed=5.0 + i % 3))
    return rows


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def epoch_ms(ts: datetime) -> int:
    return round(ts.timestamp() * 1000)


def query(conn, sql: str, params=None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def scalar(conn, sql: str, params=None):
    return query(conn, sql, params)[0][0]


def instants(conn, vehicle: str, start=None, end=None) -> list[tuple[datetime, float, float]]:
    """(ts, lon, lat) of every instant of vehicle_trajectory(), in trajectory order."""
    return [
        (row[0], row[1], row[2])
        for row in query(
            conn,
            "SELECT getTimestamp(i), ST_X(getValue(i)::geometry), ST_Y(getValue(i)::geometry) "
            f"FROM unnest(instants(vehicle_trajectory(%s, {WINDOW}))) WITH ORDINALITY AS u(i, n) ORDER BY n",
            (vehicle, start, end),
        )
    ]


def sequences(conn, vehicle: str, start=None, end=None) -> list[tuple[datetime, datetime, int]]:
    return query(
        conn,
        f"SELECT trip_start, trip_end, num_instants FROM vehicle_trips(%s, {WINDOW})",
        (vehicle, start, end),
    )


def matches_stored_instants(conn, vehicle: str) -> bool:
    """The maintained trajectory equals one built in a single pass from the stored instants."""
    return scalar(
        conn,
        "SELECT asText(vehicle_trajectory(%s)) IS NOT DISTINCT FROM asText(tgeogpointSeqSet("
        "geostream_build_range(%s, '-infinity', 'infinity', (SELECT max_gap FROM trajectory_settings))))",
        (vehicle, vehicle),
    )
