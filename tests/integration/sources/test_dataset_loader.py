"""The dataset loader against http-ingest under gunicorn and the real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from support.kafka import read_topic
from support.processes import PYTHONPATH, ROOT, gunicorn_http_ingest
from unit.sources.corpus_check import assert_same_points

from localservers import KafkaServer, free_port

from .conftest import unique

SAMPLE = ROOT / "services" / "dataset-loader" / "samples" / "opensky_sample.jsonl"


def loader_argv(path, url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dataset_loader", str(path), "--api-url", f"{url}/ingest/location", *extra]


def run_loader(path, url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        loader_argv(path, url, *extra),
        env={**os.environ, "PYTHONPATH": PYTHONPATH},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def ingest(kafka, workdir):
    started = []

    def start(brokers: str | None = None, **env: str) -> str:
        port = free_port()
        service = gunicorn_http_ingest(
            port, brokers or kafka.bootstrap, workdir / "logs" / f"{unique('http-ingest')}.log", **env
        ).start()
        started.append(service)
        service.wait_healthy(f"http://127.0.0.1:{port}/health")
        return f"http://127.0.0.1:{port}"

    yield start
    for service in started:
        service.stop()


def dataset_records(kafka, vehicles: set[str], count: int):
    """At least ``count`` records, and any extra that follow (a second read that waits for quiet; on a
    loaded machine its first poll can come up empty, so the first read stands in then)."""
    found = read_topic(kafka.bootstrap, "locations_topic", where=lambda r: r.key in vehicles, count=count)
    again = read_topic(kafka.bootstrap, "locations_topic", where=lambda r: r.key in vehicles, settle=3.0)
    return again if len(again) >= len(found) else found


def test_opensky_corpus_through_the_ingest_api(realclients, kafka, ingest, tmp_path):
    # Unique aircraft ids for this test: the corpus' own ids may be on the shared topic already.
    suffix = unique("")
    doc = json.loads((realclients / "opensky_states.json").read_text())
    for row in doc["states"]:
        row[0] += suffix
    path = tmp_path / "states.json"
    path.write_text(json.dumps(doc))
    result = run_loader(path, ingest())
    assert result.returncode == 0, result.stderr
    assert "points sent: 6" in result.stdout and "rows without position: 1" in result.stdout

    expected = json.loads((realclients / "opensky_expected.json").read_text())
    want = [
        # The ingest batch format keeps time, position and altitude; speed and heading are not carried.
        {**row["point"], "vehicle_id": row["point"]["vehicle_id"] + suffix, "speed": None, "heading": None}
        for row in expected["rows"]
        if row["action"] == "accept"
    ]
    got = [r.value for r in dataset_records(kafka, {p["vehicle_id"] for p in want}, len(want))]
    assert_same_points(want, got)
    assert {p["source"] for p in got} == {"http"}


def test_sample_file_in_small_batches(kafka, ingest):
    url = ingest()
    result = run_loader(SAMPLE, url, "--batch-size", "3", "--max-points", "40")
    assert result.returncode == 0, result.stderr
    assert "processing 8 vehicles, 230 points (opensky, 30 snapshots)" in result.stdout
    assert "points sent: 230" in result.stdout
    batches = [line for line in result.stderr.splitlines() if line.startswith("batch ")]
    assert len(batches) >= 6 and all(line.endswith(": ok") for line in batches)
    aircraft = {"3c6589", "4ca9f1", "39856a", "4b1903", "406b2c", "484f6d", "440c1e", "3944f2"}
    records = dataset_records(kafka, aircraft, 230)
    for vehicle in aircraft:  # one partition per aircraft, in time order
        track = [r for r in records if r.key == vehicle]
        assert len({r.partition for r in track}) == 1
        stamps = [r.value["ts"] for r in sorted(track, key=lambda r: r.offset)]
        assert stamps == sorted(stamps)


def test_4xx_is_reported_not_retried(ingest, tmp_path):
    url = ingest(INGEST_MAX_POINTS="100")
    result = run_loader(SAMPLE, url, "--max-points", "1000")
    assert result.returncode == 1
    assert "failed batch 1: HTTP 400" in result.stderr and "retry" not in result.stderr
    assert "points sent: 0, points failed: 230" in result.stdout


def test_503_is_retried_until_kafka_is_back(workdir, ingest):
    broker = KafkaServer(workdir / unique("kafka-loader")).start()
    try:
        url = ingest(brokers=broker.bootstrap, INGEST_DELIVERY_TIMEOUT_S="2")
        broker.stop()
        loader = subprocess.Popen(
            loader_argv(SAMPLE, url, "--retries", "30"),
            env={**os.environ, "PYTHONPATH": PYTHONPATH},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert loader.stderr is not None
        first = loader.stderr.readline()
        assert "HTTP 503" in first and "retry 1" in first, first
        broker.start()
        out, err = loader.communicate(timeout=300)
        assert loader.returncode == 0, err
        assert "points sent: 230" in out
        # A retried request may repeat points Kafka had taken before the 503 (idempotent downstream):
        # read everything, then count distinct points.
        got = read_topic(broker.bootstrap, "locations_topic", timeout=60, settle=5.0)
        assert len({(r.key, r.value["ts"]) for r in got}) == 230
    finally:
        broker.stop()


def test_poison_rows_are_skipped_and_counted_and_the_rest_is_sent(kafka, ingest, tmp_path):
    """Rows that crashed the loader (tst 1e308: OverflowError) or that PostgreSQL would refuse (NUL in an
    id) are skipped with their reason; every valid row of the same file arrives."""
    suffix = unique("")
    now = int(time.time())
    good = [[f"ok{i}{suffix}", "CS", "X", now - 60 + i, now, 2.0 + i / 10, 48.0, 1000.0] for i in range(5)]
    poison = [
        ["bad1" + suffix, "CS", "X", 1e308, now, 2.0, 48.0, 1000.0],
        ["bad2\u0000" + suffix, "CS", "X", now - 30, now, 2.0, 48.0, 1000.0],
        ["bad3" + suffix, "CS", "X", 0, now, 2.0, 48.0, 1000.0],
        ["bad4" + suffix, "CS", "X", now - 30, now, 2.0, 48.0, 1e308],
        ["bad5" + suffix, "CS", "X", now + 86_400, now, 2.0, 48.0, 1000.0],
        [None, "CS", "X", now - 30, now, 2.0, 48.0, 1000.0],
    ]
    lines = [json.dumps({"time": now, "states": good[:3] + poison[:3]}), "{not json",
             json.dumps({"time": now, "states": good[3:] + poison[3:]})]  # fmt: skip
    path = tmp_path / "poison.jsonl"
    path.write_text("\n".join(lines))
    result = run_loader(path, ingest())
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "points sent: 5" in result.stdout and "invalid rows: 7" in result.stdout, result.stdout
    got = dataset_records(kafka, {row[0] for row in good}, 5)
    assert sorted(r.key for r in got) == sorted(row[0] for row in good)
    assert (
        read_topic(
            kafka.bootstrap, "locations_topic", where=lambda r: suffix in (r.key or "") and "bad" in r.key
        )
        == []
    )


def test_the_loader_sends_its_token(kafka, ingest, tmp_path):
    url = ingest(INGEST_TOKENS="tok-loader-9a8b7c")
    vid = unique("tok")
    path = tmp_path / "batch.json"
    path.write_text(json.dumps([{"vehicleID": vid, "path": [[1, 2]], "timestamps": [int(time.time()) - 5]}]))
    refused = run_loader(path, url)
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr
    result = run_loader(path, url, "--token", "tok-loader-9a8b7c")
    assert result.returncode == 0 and "points sent: 1" in result.stdout, result.stderr
