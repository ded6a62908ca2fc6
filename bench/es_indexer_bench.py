"""Kafka -> search engine documents/s through es-indexer, against bulk-loading the same documents directly
with the same client in the same run.

    python bench/es_indexer_bench.py [--readings 100000]

N sensor_readings records are produced first. The baseline bulk-loads their documents (the indexer's own
``sensors.bulk_action``, batches of 2,000, the official client) into a second data stream of the same
template; es-indexer then drains the topic as its container runs it (consume, check the contract, bulk,
commit after the engine acknowledged). Its rate is taken from the first to the last document counted in the
engine. Real Kafka, real OpenSearch (full JIT, not the tests' fast start) behind the test-only
Elasticsearch shim (tests/SEARCH_ENGINE.md); only the ratio is meaningful on a shared machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import orjson
from common import ROOT, print_table, tree_rss_mb

for sub in ("services/es-indexer",):
    sys.path.insert(0, str(ROOT / sub))

from elasticsearch import helpers  # noqa: E402
from support.processes import ServiceProcess  # noqa: E402
from support.search_shim import ElasticsearchShim, elasticsearch_client  # noqa: E402

from es_indexer.settings import Settings  # noqa: E402
from es_indexer.targets import sensor_template  # noqa: E402
from geostream import sensors  # noqa: E402
from geostream.kafka import make_producer  # noqa: E402
from localservers import KafkaServer, free_port  # noqa: E402
from localservers.opensearch import OpenSearchServer  # noqa: E402

BATCH = 2000


def readings(n: int) -> list[dict]:
    base_s = 1_700_000_000
    return [
        {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base_s + i // 20))
            + f".{i % 20:06d}Z",
            "sensor_id": i % 20,
            "temperature": 15 + (i % 100) / 10,
            "humidity": 60.0,
            "pressure": 1013.0,
            "location": {"lon": 3.18 + (i % 20) / 1000, "lat": 42.48},
        }
        for i in range(n)
    ]


def produce(brokers: str, records: list[dict]) -> None:
    producer = make_producer(brokers, client_id="bench-es-indexer", **{"linger.ms": 50})
    for record in records:
        while True:
            try:
                producer.produce("sensor_readings", orjson.dumps(record), str(record["sensor_id"]).encode())
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(120) == 0


def count(es, index: str) -> int:
    es.indices.refresh(index=index, ignore_unavailable=True)
    return es.count(index=index, ignore_unavailable=True)["count"] if es.indices.exists(index=index) else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=100_000)
    args = parser.parse_args()
    records = readings(args.readings)
    with tempfile.TemporaryDirectory(prefix="bench-es-indexer-") as tmp:
        work = Path(tmp)
        kafka = KafkaServer(work / "kafka").start()
        engine = OpenSearchServer(work / "opensearch", fast_start=False).start()
        shim = ElasticsearchShim(engine.url).start()
        es = elasticsearch_client(shim)
        indexer = None
        try:
            es.indices.put_index_template(
                name="sensor-readings", **sensor_template(Settings(), with_ilm=False)
            )
            produce(kafka.bootstrap, records)

            actions = [sensors.bulk_action(r, index="sensor-readings-direct") for r in records]
            started = time.monotonic()
            ok, _ = helpers.bulk(es.options(request_timeout=120), actions, chunk_size=BATCH)
            direct = ok / (time.monotonic() - started)

            health = free_port()
            indexer = ServiceProcess(
                [sys.executable, "-m", "es_indexer"],
                {"KAFKA_BROKERS": kafka.bootstrap, "ELASTICSEARCH_URL": shim.url,
                 "INDEXER_TOPICS": "sensor_readings", "HEALTH_HOST": "127.0.0.1", "HEALTH_PORT": str(health),
                 "BATCH_MAX_DOCS": str(BATCH)},
                ROOT / "services/es-indexer",
                work / "es-indexer.log",
            ).start()  # fmt: skip
            first = last = None
            seen, peak_rss = 0, 0.0
            deadline = time.monotonic() + 900
            while seen < args.readings:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"only {seen} of {args.readings} documents after 900 s:\n{indexer.log()}"
                    )
                seen = count(es, "sensor-readings")
                now = time.monotonic()
                if seen and first is None:
                    first = (now, seen)
                last = (now, seen)
                peak_rss = max(peak_rss, tree_rss_mb(indexer.process.pid))
                time.sleep(0.5)
            through = (last[1] - first[1]) / max(last[0] - first[0], 1e-9)
        finally:
            if indexer is not None:
                indexer.stop()
            es.close()
            shim.stop()
            engine.stop()
            kafka.stop()
    print_table(
        "es-indexer: Kafka -> search engine (sensor_readings -> data stream sensor-readings)",
        [
            ("documents", f"{args.readings:,}"),
            ("direct bulk load (same documents, same client)", f"{direct:,.0f} docs/s"),
            ("through es-indexer", f"{through:,.0f} docs/s"),
            ("ratio es-indexer / direct bulk", f"{through / direct:.2f}"),
            ("es-indexer peak RSS", f"{peak_rss:.0f} MB"),
        ],
    )


if __name__ == "__main__":
    main()
