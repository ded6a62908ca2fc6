"""Writes samples/nyc_pickups_synthetic.csv: SYNTHETIC pickups (not real trips), Gaussian clusters around
New York hot spots, with the latitude/longitude columns of the prototype's Uber reference file.

    python -m rides_analytics.generate_sample [ROWS]
"""

from __future__ import annotations

import csv
import random
import sys

from rides_analytics.settings import SAMPLE_PICKUPS

# (lat, lon, weight, spread in degrees): Midtown, Lower Manhattan, Upper East and West Side, Brooklyn,
# Queens, JFK, LaGuardia.
HOT_SPOTS = [
    (40.7560, -73.9860, 0.25, 0.010),
    (40.7100, -74.0090, 0.12, 0.008),
    (40.7780, -73.9560, 0.12, 0.010),
    (40.7880, -73.9750, 0.10, 0.009),
    (40.6900, -73.9700, 0.12, 0.015),
    (40.7450, -73.9000, 0.09, 0.015),
    (40.6450, -73.7820, 0.11, 0.006),
    (40.7740, -73.8720, 0.09, 0.005),
]


def main() -> int:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = random.Random(20261201)
    with open(SAMPLE_PICKUPS, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["latitude", "longitude", "base"])
        for _ in range(rows):
            lat, lon, _w, spread = rng.choices(HOT_SPOTS, [h[2] for h in HOT_SPOTS])[0]
            writer.writerow([round(rng.gauss(lat, spread), 5), round(rng.gauss(lon, spread), 5), "SYNTHETIC"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
