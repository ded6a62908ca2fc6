"""The rides-revenue hand-off: ``python -m rides_analytics`` with ELASTICSEARCH_URL set writes one document
per zone and comfort into the ``rides-revenue`` index of the real local engine (OpenSearch through the
shim), with the template's types; writing the same run again leaves the same documents."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pyarrow.parquet as pq
from support.processes import PYTHONPATH, ROOT

from rides_analytics.search import INDEX, MAPPING, index_revenue
from rides_lake.layout import file_name, table


def write_lake(lake, count: int) -> list[dict]:
    rng = random.Random(11)
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    rides = [
        {
            "ride_id": str(uuid.uuid4()),
            "ts": start + timedelta(minutes=i),
            "origin_lat": rng.uniform(40.70, 40.80),
            "origin_lon": rng.uniform(-74.00, -73.93),
            "destination_lat": 40.75,
            "destination_lon": -73.98,
            "comfort": rng.choice(["low", "medium", "high"]),
            "duration_min": 10.0,
            "price_base": 2.5,
            "price_per_km": 1.2,
            "price_per_min": 0.3,
            "distance_km": 3.0,
            "price_total": round(rng.uniform(5, 80), 2),
            "kafka_partition": 0,
            "kafka_offset": i,
        }
        for i in range(count)
    ]
    directory = lake / "rides" / "2026/12/01/08"
    directory.mkdir(parents=True)
    pq.write_table(table(rides), directory / file_name(0, 0))
    return rides


def test_the_command_indexes_revenue_documents_idempotently(tmp_path, es, es_shim):
    lake, out = tmp_path / "lake", tmp_path / "out"
    rides = write_lake(lake, 60)
    proc = subprocess.run(
        [sys.executable, "-m", "rides_analytics", "--ndjson", str(out / "rev.ndjson")],
        env={
            "PYTHONPATH": PYTHONPATH,
            "LAKE_ROOT": str(lake),
            "ANALYTICS_OUTPUT_DIR": str(out),
            "ELASTICSEARCH_URL": es_shim.url,
            "PATH": "/usr/bin",
        },
        cwd=ROOT / "services" / "rides-analytics",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert '"revenue indexed"' in proc.stderr
    documents = [orjson.loads(line) for line in (out / "rev.ndjson").read_text().splitlines()]
    ids = [d["_id"] for d in documents]

    (properties,) = (m["mappings"]["properties"] for m in es.indices.get_mapping(index=INDEX).values())
    assert {k: v["type"] for k, v in properties.items()} == {
        k: v["type"] for k, v in MAPPING["properties"].items()
    }
    hits = es.search(index=INDEX, query={"ids": {"values": ids}}, size=100)["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == sorted(ids)
    assert sum(h["_source"]["rides"] for h in hits) == len(rides)
    total = es.search(
        index=INDEX, size=0, query={"ids": {"values": ids}}, aggs={"revenue": {"sum": {"field": "revenue"}}}
    )["aggregations"]["revenue"]["value"]
    assert abs(total - sum(r["price_total"] for r in rides)) < 0.01
    # The centroid is a geo_point: every zone's centroid is within 30 km of Manhattan.
    near = {
        "bool": {
            "filter": [
                {"ids": {"values": ids}},
                {"geo_distance": {"distance": "30km", "centroid": {"lat": 40.75, "lon": -73.98}}},
            ]
        }
    }
    assert es.count(index=INDEX, query=near)["count"] == len(ids)

    # The same run written again (a retry): the same documents, no new ones.
    index_revenue(es, documents)
    es.indices.refresh(index=INDEX)
    assert es.count(index=INDEX, query={"ids": {"values": ids}})["count"] == len(ids)
    by_id = {
        h["_id"]: h["_source"]
        for h in es.search(index=INDEX, query={"ids": {"values": ids}}, size=100)["hits"]["hits"]
    }
    assert by_id == {d["_id"]: {k: v for k, v in d.items() if k != "_id"} for d in documents}
