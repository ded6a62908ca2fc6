"""A real broker keeps what it acknowledged: across a graceful restart and across a crash (SIGKILL),
while a producer keeps producing, and with its topics, offsets and consumer-group offsets."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from broker_support import new_topic, read_values, unique
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from geostream.kafka import ensure_topics, make_consumer, make_producer
from localservers import KafkaServer


class NumberedProducer:
    """Produces records 0, 1, 2, ... (the number is the value) from a thread, and keeps the numbers
    whose delivery report succeeded: those the broker acknowledged with acks=all."""

    def __init__(self, brokers: str, topic: str):
        # Long enough for records produced during the outage to be delivered after the restart.
        self.producer = make_producer(
            brokers, client_id=unique("numbered"), **{"message.timeout.ms": 180_000}
        )
        self.topic = topic
        self.sent = 0
        self.acknowledged: list[int] = []
        self.failed: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _on_delivery(self, err, msg) -> None:
        (self.failed if err is not None else self.acknowledged).append(int(msg.value()))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.producer.produce(
                    self.topic,
                    str(self.sent).encode(),
                    f"k{self.sent % 10}".encode(),
                    on_delivery=self._on_delivery,
                )
                self.sent += 1
            except BufferError:
                pass
            self.producer.poll(0.002)

    def start(self) -> NumberedProducer:
        self._thread.start()
        return self

    def wait_acknowledged(self, count: int, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"{len(self.acknowledged)} of {count} acknowledged"
            time.sleep(0.05)

    def finish(self) -> None:
        self._stop.set()
        self._thread.join(30)
        assert self.producer.flush(180) == 0, "records still unsettled"


COORDINATOR_NOT_READY = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError._WAIT_COORD,
}


def commit_offset(brokers: str, group: str, offset: TopicPartition, timeout: float = 60.0) -> None:
    """Commit one offset for ``group``; the first commit on a new broker waits for the group
    coordinator (the offsets topic is created and loaded on first use)."""
    consumer = make_consumer(brokers, group_id=group, client_id="disk")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                consumer.commit(offsets=[offset], asynchronous=False)
                return
            except KafkaException as exc:
                if exc.args[0].code() not in COORDINATOR_NOT_READY or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        consumer.close()


@pytest.mark.parametrize("outage", ["graceful stop", "crash"])
def test_every_acknowledged_record_survives_a_restart_mid_stream(private_broker: KafkaServer, outage):
    topic = new_topic(private_broker.bootstrap)
    producer = NumberedProducer(private_broker.bootstrap, topic).start()
    producer.wait_acknowledged(2_000)

    if outage == "crash":
        private_broker.kill()
    else:
        private_broker.stop()
    first_in_outage = producer.sent
    time.sleep(1.0)  # the producer keeps producing into its queue while the broker is down
    private_broker.start(topics=False)
    first_after_restart = producer.sent
    assert first_after_restart > first_in_outage, "nothing was produced during the outage"
    producer.wait_acknowledged(len(producer.acknowledged) + 2_000)
    producer.finish()

    acknowledged = set(producer.acknowledged)
    produced_in_outage = set(range(first_in_outage, first_after_restart))
    assert produced_in_outage <= acknowledged, "records queued during the outage were not delivered after it"
    assert max(acknowledged) >= first_after_restart, "nothing produced after the restart was acknowledged"

    values = read_values(private_broker.bootstrap, topic, expected=len(acknowledged))
    on_topic = Counter(int(v) for v in values)
    lost = sorted(acknowledged - on_topic.keys())
    duplicates = {n: c for n, c in on_topic.items() if c > 1}
    print(
        f"{outage}: {producer.sent} produced, {len(acknowledged)} acknowledged,"
        f" {len(producer.failed)} failed, {len(values)} on the topic, {len(duplicates)} duplicated"
    )
    assert not lost, f"{len(lost)} acknowledged records lost, e.g. {lost[:10]}"
    assert on_topic.keys() <= acknowledged | set(producer.failed), "records on the topic nobody produced"


def test_topics_records_and_group_offsets_are_on_disk(private_broker: KafkaServer):
    topic = new_topic(private_broker.bootstrap)
    producer = make_producer(private_broker.bootstrap, client_id=unique("disk"))
    for n in range(300):
        producer.produce(topic, str(n).encode(), f"k{n % 7}".encode())
    assert producer.flush(60) == 0

    group = unique("group")
    commit_offset(private_broker.bootstrap, group, TopicPartition(topic, 0, 10))

    private_broker.restart()

    assert ensure_topics(private_broker.bootstrap) == [], "the platform's topics were lost"
    assert sorted(int(v) for v in read_values(private_broker.bootstrap, topic, expected=300)) == list(
        range(300)
    )
    consumer = make_consumer(private_broker.bootstrap, group_id=group, client_id="disk")
    try:
        committed = consumer.committed([TopicPartition(topic, 0)], timeout=30)
    finally:
        consumer.close()
    assert committed[0].offset == 10
