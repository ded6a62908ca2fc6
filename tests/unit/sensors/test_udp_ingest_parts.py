"""udp-ingest's pure parts: the queue bounded by count and bytes, and the per-sensor seq gap counter."""

from __future__ import annotations

import threading

from udp_ingest.queueing import BoundedByteQueue
from udp_ingest.sequence import SequenceTracker


def test_the_queue_refuses_beyond_its_byte_bound_and_keeps_order():
    queue = BoundedByteQueue(max_items=100, max_bytes=10)
    assert queue.offer(b"12345")
    assert queue.offer(b"67890")
    assert not queue.offer(b"x")  # 11 bytes would not fit
    assert queue.bytes == 10 and len(queue) == 2
    assert queue.take(0) == b"12345"
    assert queue.offer(b"x")
    assert [queue.take(0), queue.take(0), queue.take(0)] == [b"67890", b"x", None]
    assert queue.bytes == 0


def test_the_queue_refuses_beyond_its_count_bound():
    queue = BoundedByteQueue(max_items=2, max_bytes=1_000)
    assert queue.offer(b"a") and queue.offer(b"b")
    assert not queue.offer(b"c")


def test_one_item_larger_than_the_byte_bound_still_passes_an_empty_queue():
    queue = BoundedByteQueue(max_items=10, max_bytes=4)
    assert queue.offer(b"a datagram longer than the bound")
    assert not queue.offer(b"b")


def test_put_waits_for_room_that_take_makes():
    queue = BoundedByteQueue(max_items=1, max_bytes=100)
    queue.offer(b"first")
    taken: list[bytes | None] = []
    consumer = threading.Timer(0.2, lambda: taken.append(queue.take(1)))
    consumer.start()
    assert queue.put(b"second", timeout=30)
    consumer.join()
    assert taken == [b"first"]
    assert not queue.put(b"third", timeout=0.05)


def test_gaps_are_counted_per_sensor_and_restarts_count_none():
    seqs = SequenceTracker()
    assert [seqs.observe("a", n) for n in (0, 1, 4, 5)] == [0, 0, 2, 0]
    assert [seqs.observe("b", n) for n in (7, 9)] == [0, 1]
    assert seqs.observe("a", 0) == 0  # sender restarted
    assert seqs.observe("a", 1) == 0
    assert seqs.observe("a", 1) == 0  # duplicate


def test_the_tracker_forgets_the_least_recently_seen_sensor():
    seqs = SequenceTracker(capacity=2)
    seqs.observe("a", 1)
    seqs.observe("b", 1)
    seqs.observe("a", 2)
    seqs.observe("c", 1)  # evicts b, the least recently seen
    assert len(seqs) == 2
    assert seqs.observe("a", 4) == 1  # a is still remembered (last 2)
    assert seqs.observe("b", 5) == 0  # b was forgotten: no gap can be told
