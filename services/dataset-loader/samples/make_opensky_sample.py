"""Writes opensky_sample.jsonl: 30 OpenSky ``states/all?extended=1`` snapshots (one per line, 10 s apart)
of 8 aircraft over Western Europe, shaped exactly like the REST API's responses. Deterministic.

    python make_opensky_sample.py > opensky_sample.jsonl

The aircraft and positions are invented for the project; every column follows the documented layout
(https://openskynetwork.github.io/opensky-api/rest.html).
"""

from __future__ import annotations

import json
import math

START = 1_717_236_000  # 2024-06-01T10:00:00Z
SNAPSHOTS = 30
STEP_S = 10
M_PER_DEG = 111_320.0

# icao24, callsign, country, lon, lat, alt (m), speed (m/s), track (deg), vertical rate, on ground, category
AIRCRAFT = [
    ("3c6589", "DLH4AB  ", "Germany", 8.20, 50.20, 10_972.8, 231.5, 225.0, 0.0, False, 4),
    ("4ca9f1", "EIN53K  ", "Ireland", -3.10, 51.60, 11_582.4, 238.2, 95.0, 0.0, False, 4),
    ("39856a", "AFR1146 ", "France", 2.40, 49.10, 3_048.0, 140.0, 265.0, 9.5, False, 4),
    ("4b1903", "SWR284  ", "Switzerland", 8.55, 47.46, 0.0, 8.2, 280.0, 0.0, True, 3),
    ("406b2c", "EZY91QT ", "United Kingdom", 0.10, 51.20, 7_315.2, 205.0, 140.0, -6.0, False, 3),
    ("484f6d", None, "Kingdom of the Netherlands", 4.70, 52.40, 1_828.8, 95.0, 200.0, -4.0, False, 2),
    ("440c1e", "AUA57   ", "Austria", 11.00, 48.30, 9_753.6, 225.0, 290.0, 2.0, False, 4),
    ("3944f2", "TVF83YC ", "France", 1.00, 46.00, 10_363.2, 228.0, 10.0, 0.0, False, 4),
]


def state(aircraft: tuple, now: int, index: int) -> list:
    icao, callsign, country, lon0, lat0, alt0, speed, track, vrate, ground, category = aircraft
    # The Dutch aircraft is only heard by Mode S (no position) in every third snapshot.
    if icao == "484f6d" and index % 3 == 2:
        return [icao, callsign, country, None, now - 1, None, None, alt0, False,
                None, None, None, None, None, "7000", False, 0, category]  # fmt: skip
    age = 1 + index % 3  # the position report is 1-3 s older than the snapshot
    t = (now - age) - START
    distance = speed * t
    lat = lat0 + distance * math.cos(math.radians(track)) / M_PER_DEG
    lon = lon0 + distance * math.sin(math.radians(track)) / (M_PER_DEG * math.cos(math.radians(lat0)))
    baro = None if ground else round(alt0 + vrate * t, 2)
    geo = None if ground else round(alt0 + vrate * t + 76.2, 2)
    return [
        icao, callsign, country, now - age, now - 1, round(lon, 5), round(lat, 5), baro, ground,
        speed, track, None if ground else vrate, None, geo, "1000", False, 0, category,
    ]  # fmt: skip


def main() -> None:
    for index in range(SNAPSHOTS):
        now = START + index * STEP_S
        snapshot = {"time": now, "states": [state(a, now, index) for a in AIRCRAFT]}
        print(json.dumps(snapshot, separators=(",", ":")))


if __name__ == "__main__":
    main()
