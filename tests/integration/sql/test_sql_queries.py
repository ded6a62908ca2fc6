"""The query functions of sql/040_queries.sql and the prototype's insert view."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import pairwise

import psycopg2
import pytest
from mobilitydb_helpers import T0, epoch_ms, haversine_m, instants, point, query, scalar, track, upsert

ENVELOPE = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"


def test_latest_positions(db):
    upsert(
        db,
        [point("lat-a", T0 + timedelta(seconds=s), 2.0 + s * 1e-4, 48.0, speed=float(s)) for s in range(10)],
    )
    upsert(db, [point("lat-b", T0 + timedelta(minutes=30), 10.0, 50.0, speed=3.0, heading=90.0)])
    upsert(db, [point("lat-b", T0, 11.0, 51.0, speed=1.0)])  # late: not the latest
    upsert(db, [point("lat-a", T0 + timedelta(seconds=4), 2.5, 48.5)])  # overwrites an old point only
    rows = query(db, "SELECT vehicle_id, ts, lon, lat, speed, heading FROM latest_positions()")
    assert rows == [
        ("lat-a", T0 + timedelta(seconds=9), pytest.approx(2.0009), 48.0, 9.0, None),
        ("lat-b", T0 + timedelta(minutes=30), 10.0, 50.0, 3.0, 90.0),
    ]
    in_area = query(db, f"SELECT vehicle_id FROM latest_positions({ENVELOPE})", (9, 49, 11, 51))
    assert in_area == [("lat-b",)]
    since = query(db, "SELECT vehicle_id FROM latest_positions(NULL, %s)", (T0 + timedelta(minutes=1),))
    assert since == [("lat-b",)]
    assert query(db, "SELECT vehicle_id, ts FROM vehicle_latest_positions ORDER BY 1") == [
        (r[0], r[1]) for r in rows
    ]
    # The same point re-sent with a correction to its speed updates the latest position.
    upsert(db, [point("lat-b", T0 + timedelta(minutes=30), 10.0, 50.0, speed=4.0, heading=91.0)])
    assert query(db, "SELECT speed, heading FROM latest_positions() WHERE vehicle_id = 'lat-b'") == [
        (4.0, 91.0)
    ]


def test_trajectory_window_and_mfjson(db):
    rows = track("mf-1", T0, 90, 20.0)  # 30 minutes
    upsert(db, rows)
    start, end = rows[10][1], rows[70][1]
    document = scalar(db, "SELECT vehicle_trajectory_mfjson('mf-1', %s, %s)", (start, end))
    assert document["type"] == "MovingPoint"
    assert document["crs"]["properties"]["name"] == "EPSG:4326"
    assert len(document["sequences"]) == 1
    sequence = document["sequences"][0]
    assert len(sequence["coordinates"]) == 61
    assert sequence["coordinates"][0] == pytest.approx([rows[10][2], rows[10][3]])
    assert sequence["coordinates"][-1] == pytest.approx([rows[70][2], rows[70][3]])
    assert sequence["datetimes"][0].startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))
    assert scalar(db, "SELECT vehicle_trajectory_mfjson('nobody', %s, %s)", (start, end)) is None
    # A window that starts between two instants is cut there, at the interpolated position.
    cut = instants(db, "mf-1", rows[10][1] + timedelta(seconds=10), rows[11][1])
    assert [c[0] for c in cut] == [rows[10][1] + timedelta(seconds=10), rows[11][1]]
    assert cut[0][1] == pytest.approx((rows[10][2] + rows[11][2]) / 2, abs=1e-6)


def test_trajectory_in_tripslayer_shape(db):
    first = track("tl-1", T0, 30, 10.0)
    second = track("tl-1", first[-1][1] + timedelta(minutes=20), 30, 10.0, lon0=2.4)
    upsert(db, first + second)
    trips = query(db, "SELECT trip_start, path, timestamps FROM vehicle_trajectory_trips('tl-1', %s, %s)",
                  (T0, second[-1][1]))  # fmt: skip
    assert len(trips) == 2
    for (trip_start, path, timestamps), rows in zip(trips, (first, second), strict=True):
        assert trip_start == rows[0][1]
        assert timestamps == [epoch_ms(r[1]) for r in rows]
        assert all(isinstance(t, int) for t in timestamps)
        assert path == [pytest.approx([r[2], r[3]]) for r in rows]
    json.dumps(trips[0][1])  # plain JSON for the API


def test_length_duration_and_speed_against_haversine(db):
    rows = track("stats-1", T0, 200, 15.0, radius=0.05)  # 50 minutes, ~ 10 km
    later = track("stats-1", rows[-1][1] + timedelta(minutes=30), 40, 5.0, lon0=2.5, radius=0.01)
    upsert(db, rows + later)
    trips = query(
        db,
        "SELECT trip_start, trip_end, num_instants, length_m, duration, avg_speed_mps, max_speed_mps "
        "FROM vehicle_trips('stats-1')",
    )
    assert len(trips) == 2
    for trip, pts in zip(trips, (rows, later), strict=True):
        legs = [haversine_m(a[2], a[3], b[2], b[3]) for a, b in pairwise(pts)]
        seconds = [(b[1] - a[1]).total_seconds() for a, b in pairwise(pts)]
        assert trip[0] == pts[0][1] and trip[1] == pts[-1][1] and trip[2] == len(pts)
        assert trip[3] == pytest.approx(sum(legs), rel=0.005)  # geodesic (WGS 84) vs spherical
        assert trip[4] == pts[-1][1] - pts[0][1]
        assert trip[5] == pytest.approx(sum(legs) / sum(seconds), rel=0.005)
        assert trip[6] == pytest.approx(max(d / s for d, s in zip(legs, seconds, strict=True)), rel=0.005)
    stats = query(
        db,
        "SELECT vehicle_id, trips, num_instants, length_m, duration, avg_speed_mps, max_speed_mps "
        "FROM vehicle_stats(%s, %s)",
        (T0, later[-1][1]),
    )
    assert len(stats) == 1
    vehicle, count, total_instants, length, duration, avg, top = stats[0]
    assert (vehicle, count, total_instants) == ("stats-1", 2, 240)
    assert length == pytest.approx(trips[0][3] + trips[1][3])
    assert duration == trips[0][4] + trips[1][4]  # moving time: the 30-minute silence is not counted
    assert avg == pytest.approx(length / duration.total_seconds())
    assert top == max(trips[0][6], trips[1][6])
    one = query(db, "SELECT trips, length_m FROM vehicle_stats(%s, %s, 'stats-1')", (T0, rows[-1][1]))
    assert one == [(1, pytest.approx(trips[0][3]))]


@pytest.fixture
def area_fleet(db):
    """Vehicles around a box [2.0, 48.0] x [2.1, 48.1] during 08:00-09:00."""
    box_inside = [point("in-1", T0 + timedelta(minutes=m), 2.05 + m * 1e-4, 48.05) for m in range(0, 60, 2)]
    outside = [point("out-1", T0 + timedelta(minutes=m), 3.0, 49.0 + m * 1e-4) for m in range(0, 60, 2)]
    too_early = [
        point("early-1", T0 - timedelta(hours=3, minutes=-m), 2.05, 48.05 + m * 1e-4) for m in range(10)
    ]
    # Crosses the box between two points that both lie outside it.
    crossing = [
        point("cross-1", T0 + timedelta(minutes=20), 1.9, 48.05),
        point("cross-1", T0 + timedelta(minutes=22), 2.2, 48.06),
    ]
    # Recent points only: its bucket is still open (not stored as a segment).
    fresh = [point("fresh-1", T0 + timedelta(minutes=50, seconds=s), 2.02, 48.02) for s in range(0, 60, 10)]
    # Inside the box's corner but outside the triangle used below.
    corner = [point("corner-1", T0 + timedelta(minutes=m), 2.095, 48.095) for m in range(30, 40)]
    upsert(db, box_inside + outside + too_early + crossing + fresh + corner)
    return db


def test_trips_and_vehicles_in_a_bounding_box(area_fleet):
    db = area_fleet
    rows = query(
        db,
        "SELECT vehicle_id, trip_start, trip_end, path, timestamps "
        "FROM trips_in_bbox(2.0, 48.0, 2.1, 48.1, %s, %s)",
        (T0, T0 + timedelta(hours=1)),
    )
    assert [r[0] for r in rows] == ["corner-1", "cross-1", "fresh-1", "in-1"]
    cross = rows[1]
    assert cross[3] == [[1.9, 48.05], [2.2, 48.06]]
    assert cross[4] == [epoch_ms(T0 + timedelta(minutes=20)), epoch_ms(T0 + timedelta(minutes=22))]
    # Trips are cut to the window, not to the area.
    window = query(
        db,
        "SELECT vehicle_id, trip_start, trip_end FROM trips_in_bbox(2.0, 48.0, 2.1, 48.1, %s, %s)",
        (T0 + timedelta(minutes=10), T0 + timedelta(minutes=21)),
    )
    assert window == [
        ("cross-1", T0 + timedelta(minutes=20), T0 + timedelta(minutes=21)),
        ("in-1", T0 + timedelta(minutes=10), T0 + timedelta(minutes=21)),
    ]
    early = query(db, "SELECT vehicle_id FROM trips_in_bbox(2.0, 48.0, 2.1, 48.1, %s, %s)",
                  (T0 - timedelta(hours=4), T0 - timedelta(hours=2)))  # fmt: skip
    assert early == [("early-1",)]
    vehicles = query(
        db,
        "SELECT vehicle_id, first_inside, last_inside FROM vehicles_in_bbox(2.0, 48.0, 2.1, 48.1, %s, %s)",
        (T0, T0 + timedelta(hours=1)),
    )
    assert [v[0] for v in vehicles] == ["corner-1", "cross-1", "fresh-1", "in-1"]
    cross_inside = vehicles[1]
    # Linear interpolation: x = 1.9 + 0.3 * f, inside for f in [1/3, 2/3] of the two minutes.
    assert abs(cross_inside[1] - (T0 + timedelta(minutes=20, seconds=40))) < timedelta(seconds=1)
    assert abs(cross_inside[2] - (T0 + timedelta(minutes=21, seconds=20))) < timedelta(seconds=1)


def test_trips_in_a_polygon_with_paging(area_fleet):
    db = area_fleet
    triangle = "ST_GeomFromText('POLYGON((2.0 48.0, 2.1 48.0, 2.0 48.1, 2.0 48.0))', 4326)"
    window = (T0, T0 + timedelta(hours=1))
    names = [r[0] for r in query(db, f"SELECT vehicle_id FROM trips_in_area({triangle}, %s, %s)", window)]
    assert names == ["cross-1", "fresh-1", "in-1"]
    pages = [
        [
            r[0]
            for r in query(
                db, f"SELECT vehicle_id FROM trips_in_area({triangle}, %s, %s, 2, %s)", (*window, off)
            )
        ]
        for off in (0, 2, 4)
    ]
    assert pages == [["cross-1", "fresh-1"], ["in-1"], []]
    srid0 = "ST_GeomFromText('POLYGON((2.0 48.0, 2.1 48.0, 2.0 48.1, 2.0 48.0))')"
    assert [
        r[0] for r in query(db, f"SELECT vehicle_id FROM vehicles_in_area({srid0}, %s, %s)", window)
    ] == names


def test_the_prototype_insert_view(db):
    ms = epoch_ms(T0) + 123
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO vehicle_locations_temporal_insert_view (vehicle_id, timestamp_ms, tgeogpoint) "
            "VALUES (%s, %s, %s)",
            ("proto-1", ms, "SRID=4326;Point(2.35 48.85)@2024-05-01 08:00:00.123+00"),
        )
        cur.execute(
            "INSERT INTO vehicle_locations_temporal_insert_view (vehicle_id, timestamp_ms, tgeogpoint) "
            "VALUES (%s, %s, %s), (%s, %s, %s)",
            ("proto-1", ms, "Point(2.36 48.86)@2024-05-01 08:00:00.123+00", "proto-1", None,
             "[Point(2.37 48.87)@2024-05-01 08:01:00+00, Point(2.38 48.88)@2024-05-01 08:02:00+00]"),
        )  # fmt: skip
    stored = query(
        db, "SELECT ts, lon, lat, source FROM vehicle_points WHERE vehicle_id = 'proto-1' ORDER BY ts"
    )
    assert stored == [
        (T0 + timedelta(milliseconds=123), 2.36, 48.86, None),  # the replay overwrote the first one
        (T0 + timedelta(minutes=1), 2.37, 48.87, None),
        (T0 + timedelta(minutes=2), 2.38, 48.88, None),
    ]
    view = query(
        db,
        "SELECT timestamp_ms, asText(tgeogpoint) FROM vehicle_locations_temporal_insert_view "
        "WHERE vehicle_id = 'proto-1' ORDER BY 1",
    )
    assert view[0] == (ms, "POINT(2.36 48.86)@2024-05-01 08:00:00.123+00")
    assert len(instants(db, "proto-1")) == 3
    with db.cursor() as cur:
        cur.execute("INSERT INTO vehicle_locations_temporal_insert_view (vehicle_id) VALUES ('proto-2')")
    assert scalar(db, "SELECT count(*) FROM vehicle_points WHERE vehicle_id = 'proto-2'") == 0
    with pytest.raises(psycopg2.Error), db.cursor() as cur:
        cur.execute(
            "INSERT INTO vehicle_locations_temporal_insert_view (vehicle_id, tgeogpoint) "
            "VALUES ('p', 'nonsense')"
        )
