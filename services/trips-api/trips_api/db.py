"""MobilityDB access: a connection pool and one function per question the API answers.

All the spatio-temporal work is done by the SQL functions of sql/040_queries.sql; this module only
binds parameters and shapes rows. Times cross the boundary as epoch milliseconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg2
import psycopg2.extras
from psycopg2.pool import ThreadedConnectionPool

from trips_api.params import BBox, Page, Window

MS = "(extract(epoch FROM {0}) * 1000)::bigint"
TO_TS = "to_timestamp(%s / 1000.0)"
WORLD: BBox = (-180.0, -90.0, 180.0, 90.0)


class Database:
    def __init__(self, dsn: str, max_connections: int, statement_timeout_ms: int):
        self.pool = ThreadedConnectionPool(
            0, max_connections, dsn, options=f"-c statement_timeout={statement_timeout_ms}", connect_timeout=5
        )

    @contextlib.contextmanager
    def cursor(self) -> Iterator[psycopg2.extensions.cursor]:
        conn = self.pool.getconn()
        broken = False
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                yield cur
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = True
            raise
        finally:
            self.pool.putconn(conn, close=broken or conn.closed != 0)

    def close(self) -> None:
        self.pool.closeall()

    def ping(self) -> bool:
        with self.cursor() as cur:
            cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'mobilitydb'")
            return cur.fetchone() is not None

    def latest(self, area: Area, since_ms: int | None, page: Page) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT vehicle_id, {MS.format('ts')}, lon, lat, speed, heading"
                f" FROM latest_positions({area.sql}, {TO_TS}) LIMIT %s OFFSET %s",
                (*area.params, since_ms, page.limit, page.offset),
            )
            keys = ("vehicle_id", "ts", "lon", "lat", "speed", "heading")
            return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]

    def device_status(
        self, now_ms: int, offline_after_ms: int, device_id: str | None = None
    ) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT device_id, {MS.format('last_seen')}, extract(epoch FROM age)::float8, online,"
                f" lon, lat, speed, heading FROM device_status({TO_TS}, %s * interval '1 millisecond', %s)",
                (now_ms, offline_after_ms, device_id),
            )
            keys = ("device_id", "last_seen", "age_s", "online", "lon", "lat", "speed", "heading")
            return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]

    def device_history(self, device_id: str, start_ms: int, end_ms: int, limit: int) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT {MS.format('ts')}, lon, lat, speed, heading, battery"
                f" FROM device_history(%s, {TO_TS}, {TO_TS}, %s)",
                (device_id, start_ms, end_ms, limit),
            )
            keys = ("ts", "lon", "lat", "speed", "heading", "battery")
            return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]

    def trajectory_trips(self, vehicle_id: str, window: Window) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT {MS.format('trip_start')}, {MS.format('trip_end')}, path, timestamps"
                f" FROM vehicle_trajectory_trips(%s, {TO_TS}, {TO_TS})",
                (vehicle_id, window.start_ms, window.end_ms),
            )
            return [
                {"vehicle_id": vehicle_id, "start": start, "end": end, "path": path, "timestamps": stamps}
                for start, end, path, stamps in cur.fetchall()
            ]

    def trajectory_mfjson(self, vehicle_id: str, window: Window) -> Any:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT vehicle_trajectory_mfjson(%s, {TO_TS}, {TO_TS})",
                (vehicle_id, window.start_ms, window.end_ms),
            )
            return cur.fetchone()[0]

    def trips(self, area: Area, window: Window, page: Page) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT vehicle_id, {MS.format('trip_start')}, {MS.format('trip_end')}, path, timestamps"
                f" FROM trips_in_area({area.sql_or_world}, {TO_TS}, {TO_TS}, %s, %s)",
                (*area.params_or_world, window.start_ms, window.end_ms, page.limit, page.offset),
            )
            return [
                {"vehicle_id": v, "start": start, "end": end, "path": path, "timestamps": stamps}
                for v, start, end, path, stamps in cur.fetchall()
            ]

    def vehicles_in_area(self, area: Area, window: Window, page: Page) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            cur.execute(
                f"SELECT vehicle_id, {MS.format('first_inside')}, {MS.format('last_inside')}"
                f" FROM vehicles_in_area({area.sql_or_world}, {TO_TS}, {TO_TS}, %s, %s)",
                (*area.params_or_world, window.start_ms, window.end_ms, page.limit, page.offset),
            )
            return [{"vehicle_id": v, "first_inside": a, "last_inside": b} for v, a, b in cur.fetchall()]

    def stats(self, vehicle_id: str | None, window: Window) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            cur.execute(
                "SELECT vehicle_id, trips, num_instants, length_m, extract(epoch FROM duration)::float8,"
                f" avg_speed_mps, max_speed_mps FROM vehicle_stats({TO_TS}, {TO_TS}, %s)",
                (window.start_ms, window.end_ms, vehicle_id),
            )
            keys = (
                "vehicle_id",
                "trips",
                "num_instants",
                "length_m",
                "duration_s",
                "avg_speed_mps",
                "max_speed_mps",
            )
            return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]


class Area:
    """An optional bounding box or GeoJSON polygon, as a SQL geometry expression and its parameters."""

    def __init__(self, bbox: BBox | None = None, polygon_geojson: str | None = None):
        self.bbox, self.polygon = bbox, polygon_geojson

    @property
    def sql(self) -> str:
        if self.polygon is not None:
            return "ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)"
        if self.bbox is not None:
            return "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
        return "NULL::geometry"

    @property
    def params(self) -> tuple:
        if self.polygon is not None:
            return (self.polygon,)
        return self.bbox or ()

    @property
    def sql_or_world(self) -> str:
        return self.sql if (self.polygon or self.bbox) else "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"

    @property
    def params_or_world(self) -> tuple:
        return self.params if (self.polygon or self.bbox) else WORLD
