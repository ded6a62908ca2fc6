"""Transactions on the real broker: a read_committed consumer never sees an aborted or open
transaction's records; a read_uncommitted one sees every record that was written."""

from __future__ import annotations

from broker_support import new_topic, read_values, unique

from geostream.kafka import make_producer


def transactional_producer(brokers: str):
    producer = make_producer(brokers, client_id=unique("txn"), **{"transactional.id": unique("txn")})
    producer.init_transactions(30)
    return producer


def produce_all(producer, topic: str, values: list[str]) -> None:
    for value in values:
        producer.produce(topic, value.encode(), value.encode())
    producer.flush(30)


def test_aborted_records_are_hidden_from_read_committed(kafka):
    topic = new_topic(kafka.bootstrap)
    producer = transactional_producer(kafka.bootstrap)
    aborted = [f"aborted-{n}" for n in range(50)]
    committed = [f"committed-{n}" for n in range(50)]

    producer.begin_transaction()
    produce_all(producer, topic, aborted)
    producer.abort_transaction(30)
    producer.begin_transaction()
    produce_all(producer, topic, committed)
    producer.commit_transaction(30)

    seen_committed = read_values(kafka.bootstrap, topic, expected=50, **{"isolation.level": "read_committed"})
    assert sorted(v.decode() for v in seen_committed) == sorted(committed)
    seen_all = read_values(kafka.bootstrap, topic, expected=100, **{"isolation.level": "read_uncommitted"})
    assert sorted(v.decode() for v in seen_all) == sorted(aborted + committed)


def test_an_open_transaction_is_invisible_until_committed(kafka):
    topic = new_topic(kafka.bootstrap, partitions=1)
    producer = transactional_producer(kafka.bootstrap)
    pending = [f"pending-{n}" for n in range(20)]

    producer.begin_transaction()
    produce_all(producer, topic, pending)  # written to the log, transaction still open
    assert (
        read_values(kafka.bootstrap, topic, expected=0, timeout=3, **{"isolation.level": "read_committed"})
        == []
    )
    assert (
        len(read_values(kafka.bootstrap, topic, expected=20, **{"isolation.level": "read_uncommitted"})) == 20
    )

    producer.commit_transaction(30)
    seen = read_values(kafka.bootstrap, topic, expected=20, **{"isolation.level": "read_committed"})
    assert [v.decode() for v in seen] == pending
