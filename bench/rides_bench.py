"""Rides pricing benchmark: rides/s through services/flink-job/rides_job.py against the raw consumer rate.

Real Kafka on a free port. N rides (ride_producer's generator, 2 % malformed) are in rides_raw before
the job starts; the job runs on a local MiniCluster at parallelism 1. Figures, same run:

1. baseline: a plain confluent-kafka consumer reading the N raw records (no processing);
2. the job: outputs (rides_result + rides_dlq) counted by a reader; the sustained rate is the slope of
   the output count between 10 % and 90 % of N (JVM start and the tail left out);
3. for scale: geostream.rides.price_record (the same rules in Python) on one core.

    python bench/rides_bench.py [--rides 200000]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import common  # sys.path: the shared package, localservers

sys.path.insert(0, str(common.ROOT / "services/ride-producer"))

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from geostream.kafka import ensure_topics, make_consumer, make_producer
from geostream.rides import price_record
from geostream.topics import RIDES_DLQ, RIDES_RAW, RIDES_RESULT
from localservers import KafkaServer, cache_dir, stop_process
from ride_producer.city import NEW_YORK
from ride_producer.generator import malformed, ride

JOB_DIR = common.ROOT / "services" / "flink-job"


def make_records(count: int) -> list[tuple[bytes, bytes]]:
    import orjson

    rng = random.Random(1)
    now = datetime.now(UTC)
    out = []
    for _ in range(count):
        record = ride(rng, NEW_YORK, now)
        value = malformed(rng, record)[1] if rng.random() < 0.02 else orjson.dumps(record)
        out.append((record["ride_id"].encode(), value))
    return out


def produce(brokers: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = make_producer(brokers, client_id="rides-bench")
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(60) == 0


def count_messages(brokers: str, topics: list[str], target: int, timeout: float, samples: list) -> int:
    """Reads ``topics`` from the beginning until ``target`` records; appends (time, count) samples."""
    consumer = make_consumer(brokers, group_id="rides-bench-reader", client_id="rides-bench-reader")
    assignment = []
    for topic in topics:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        assignment += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions]
    consumer.assign(assignment)
    seen = 0
    deadline = time.monotonic() + timeout
    try:
        while seen < target and time.monotonic() < deadline:
            for msg in consumer.consume(10_000, timeout=0.2):
                if not msg.error():
                    seen += 1
            samples.append((time.monotonic(), seen))
    finally:
        consumer.close()
    return seen


def sustained_rate(samples: list[tuple[float, int]], total: int) -> float:
    low = next(t for t, n in samples if n >= total * 0.1)
    high = next(t for t, n in samples if n >= total * 0.9)
    return total * 0.8 / max(high - low, 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rides", type=int, default=200_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rides-bench-"))
    kafka = KafkaServer(work / "kafka").start()
    job = None
    try:
        ensure_topics(kafka.bootstrap, [RIDES_RAW, RIDES_RESULT, RIDES_DLQ])
        records = make_records(args.rides)
        produce(kafka.bootstrap, RIDES_RAW.name, records)

        samples: list = []
        started = time.monotonic()
        count_messages(kafka.bootstrap, [RIDES_RAW.name], args.rides, 300, samples)
        raw_rate = args.rides / (time.monotonic() - started)

        started = time.perf_counter()
        for _, value in records:
            price_record(value)
        python_rate = args.rides / (time.perf_counter() - started)

        flink_python = cache_dir() / "flink-venv" / "bin" / "python"
        env = {**os.environ, "KAFKA_BROKERS": kafka.bootstrap, "FLINK_LOG_DIR": str(work / "flink-log")}
        env["PYTHONPATH"] = str(common.ROOT / "services/geostream")
        with open(work / "job.log", "wb") as log:
            job = subprocess.Popen(
                [str(flink_python), "rides_job.py"],
                cwd=JOB_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        job_samples: list = []
        reader = threading.Thread(
            target=count_messages,
            args=(kafka.bootstrap, [RIDES_RESULT.name, RIDES_DLQ.name], args.rides, 900, job_samples),
        )
        reader.start()
        reader.join()
        done = job_samples[-1][1] if job_samples else 0
        if done < args.rides:
            print(f"only {done} of {args.rides} outputs; job log: {work / 'job.log'}", file=sys.stderr)
            return 1
        job_rate = sustained_rate(job_samples, args.rides)
        print(f"rides: {args.rides} (2 % malformed), parallelism 1, one run")
        print(f"{'raw consumer (confluent-kafka, no processing)':<52} {raw_rate:>10,.0f} records/s")
        print(f"{'pricing job (rides_job.py, MiniCluster), sustained':<52} {job_rate:>10,.0f} rides/s")
        print(f"{'geostream.rides.price_record (Python, one core)':<52} {python_rate:>10,.0f} rides/s")
        print(f"job / raw consumer: {job_rate / raw_rate:.2f}")
        return 0
    finally:
        if job is not None:
            stop_process(job, timeout=60)
        kafka.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
