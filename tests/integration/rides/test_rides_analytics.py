"""rides-analytics on a known synthetic set: 8 separated pickup clusters, rides drawn from them, written
to a Parquet lake (with one ride delivered twice). The zones must be recovered (adjusted Rand index
>= 0.99 on the reference pickups; 1.0 in practice), every ride counted once in its true zone, and the
revenue sums equal the sum of price_total."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from sklearn.metrics import adjusted_rand_score
from support.processes import PYTHONPATH, ROOT

from rides_analytics.lake import revenue_by_zone, rides_dataset
from rides_analytics.zones import centroids, read_pickups, revenue_documents, train
from rides_lake.layout import file_name, table

CENTRES = [(40.60 + 0.08 * (i % 4), -74.05 + 0.15 * (i // 4)) for i in range(8)]
SPREAD = 0.005


@pytest.fixture
def synthetic(tmp_path):
    rng = random.Random(5)
    reference = tmp_path / "pickups.csv"
    truth = []
    with open(reference, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Lat", "Lon", "Base"])  # the Uber file's header
        for _ in range(1600):
            blob = rng.randrange(8)
            truth.append(blob)
            writer.writerow([rng.gauss(CENTRES[blob][0], SPREAD), rng.gauss(CENTRES[blob][1], SPREAD), "B1"])
    rides = []
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    for i in range(500):
        blob = rng.randrange(8)
        rides.append(
            {
                "ride_id": str(uuid.uuid4()),
                "ts": start + timedelta(minutes=i),
                "origin_lat": rng.gauss(CENTRES[blob][0], SPREAD),
                "origin_lon": rng.gauss(CENTRES[blob][1], SPREAD),
                "destination_lat": 40.7,
                "destination_lon": -73.9,
                "comfort": rng.choice(["low", "medium", "high"]),
                "duration_min": 10.0,
                "price_base": 2.5,
                "price_per_km": 1.2,
                "price_per_min": 0.3,
                "distance_km": 3.0,
                "price_total": round(rng.uniform(5, 80), 2),
                "kafka_partition": 0,
                "kafka_offset": i,
                "blob": blob,
            }
        )
    lake = tmp_path / "lake"
    for hour in range(9):
        rows = [{k: v for k, v in r.items() if k != "blob"} for r in rides if r["ts"].hour == 8 + hour]
        if rows:
            directory = lake / "rides" / f"2026/12/01/{8 + hour:02d}"
            directory.mkdir(parents=True)
            pq.write_table(table(rows), directory / file_name(0, rows[0]["kafka_offset"]))
    # The first ride again in another file (an upstream at-least-once duplicate).
    dup = {k: v for k, v in rides[0].items() if k != "blob"} | {"kafka_partition": 1, "kafka_offset": 9}
    pq.write_table(table([dup]), lake / "rides" / "2026/12/01/08" / file_name(1, 9))
    return reference, truth, rides, lake


def test_zones_recovered_and_revenue_sums(synthetic):
    reference, truth, rides, lake = synthetic
    points = read_pickups(str(reference))
    model = train(points, 8, seed=42)
    ari = adjusted_rand_score(truth, model.labels_)
    print(f"adjusted Rand index on the reference pickups: {ari:.4f}")
    assert ari >= 0.99

    rows = revenue_by_zone(rides_dataset(str(lake), "rides"), centroids(model))
    assert sum(r["rides"] for r in rows) == len(rides)
    assert sum(r["revenue"] for r in rows) == pytest.approx(sum(r["price_total"] for r in rides), abs=0.01)

    # Each ride in the zone of its blob: map blobs to clusters through the model, then compare counts.
    cluster_of_blob = {b: int(model.predict([list(CENTRES[b])])[0]) for b in range(8)}
    expected = Counter((cluster_of_blob[r["blob"]], r["comfort"]) for r in rides)
    assert {(r["cluster_id"], r["comfort"]): r["rides"] for r in rows} == dict(expected)
    revenue = Counter()
    for r in rides:
        revenue[(cluster_of_blob[r["blob"]], r["comfort"])] += r["price_total"]
    for r in rows:
        assert r["revenue"] == pytest.approx(revenue[(r["cluster_id"], r["comfort"])], abs=0.005)

    docs = revenue_documents(rows, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert len({d["_id"] for d in docs}) == len(rows)


def test_command_prints_the_table_writes_the_lake_and_the_png(synthetic, tmp_path):
    reference, _truth, rides, lake = synthetic
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rides_analytics",
            "--reference",
            str(reference),
            "--ndjson",
            str(out / "rev.ndjson"),
        ],
        env={
            "PYTHONPATH": PYTHONPATH,
            "LAKE_ROOT": str(lake),
            "ANALYTICS_OUTPUT_DIR": str(out),
            "PATH": "/usr/bin",
        },
        cwd=ROOT / "services" / "rides-analytics",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "total" in proc.stdout and f"{len(rides):>8}" in proc.stdout
    assert (out / "zones.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    written = list((lake / "revenue_by_zone").rglob("revenue.parquet"))
    assert len(written) == 1
    assert sum(pq.read_table(written[0]).column("rides").to_pylist()) == len(rides)
    assert len((out / "rev.ndjson").read_text().splitlines()) == pq.read_table(written[0]).num_rows
