"""The consume -> buffer -> write -> commit loop.

Offsets are committed (synchronously) only after every file of the cycle is durable; a crash in between
leaves files that the next owner of the partition deletes before it consumes again (``on_assign``), then
it rewrites them from the committed offset. So a ride is in the lake once, whatever was killed when.
"""

from __future__ import annotations

import logging

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import Counter, Gauge

from geostream import contracts
from geostream.health import Check
from geostream.kafka import broker_reachable, make_admin, make_consumer
from geostream.lifecycle import Shutdown
from geostream.topics import RIDES_RESULT
from rides_lake.layout import row
from rides_lake.settings import Settings
from rides_lake.writer import LakeWriter

log = logging.getLogger("rides-lake")

ROWS = Counter("rides_lake_rows", "Rides buffered for the lake")
INVALID = Counter("rides_lake_invalid", "rides_result records that broke their contract (skipped)")
FILES = Counter("rides_lake_files", "Parquet files written")
COMMITS = Counter("rides_lake_commits", "Offset commits after durable files")
BUFFERED = Gauge("rides_lake_buffered_rows", "Rows waiting for the next roll")


class LakeService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.writer = LakeWriter(settings.lake_root, settings.lake_prefix)
        self.consumer: Consumer = make_consumer(
            settings.kafka_brokers, group_id=settings.kafka_group_id, client_id="rides-lake"
        )
        self.healthy_commit = True
        # Its own client: a health probe must not wait behind the consumer's poll and file writes.
        self.health_client = make_admin(settings.kafka_brokers)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        committed = consumer.committed(partitions, timeout=30)
        # Without a committed offset (a new group) consumption starts at the earliest retained record:
        # files from there on are rewritten, older ones (records Kafka no longer has) are kept.
        offsets = {
            tp.partition: tp.offset
            if tp.offset >= 0
            else consumer.get_watermark_offsets(tp, timeout=30, cached=False)[0]
            for tp in committed
        }
        self.writer.remove_uncommitted(offsets)
        consumer.incremental_assign(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._commit(self.writer.flush({tp.partition for tp in partitions}))
        consumer.incremental_unassign(partitions)

    def _commit(self, offsets: dict[int, int]) -> None:
        if not offsets:
            return
        self.consumer.commit(
            offsets=[TopicPartition(self.settings.kafka_topic, p, o) for p, o in offsets.items()],
            asynchronous=False,
        )
        COMMITS.inc()
        log.info("cycle committed", extra={"offsets": offsets, "files": self.writer.files_written})

    def handle(self, partition: int, offset: int, value: bytes | None) -> None:
        try:
            record = orjson.loads(value or b"")
            contracts.check(RIDES_RESULT.name, record)
        except (orjson.JSONDecodeError, ValueError) as exc:
            INVALID.inc()
            log.warning(
                "invalid rides_result record skipped", extra={"offset": offset, "reason": str(exc)[:200]}
            )
            self.writer.skip(partition, offset)
            return
        self.writer.add(partition, offset, row(record, partition, offset), len(value or b""))
        ROWS.inc()

    def roll_if_due(self, force: bool = False) -> None:
        s = self.settings
        if force or self.writer.due(s.lake_roll_rows, s.lake_roll_bytes, s.lake_roll_interval_s):
            before = self.writer.files_written
            self._commit(self.writer.flush())
            FILES.inc(self.writer.files_written - before)
        BUFFERED.set(self.writer.rows)

    def run(self, shutdown: Shutdown) -> None:
        self.consumer.subscribe(
            [self.settings.kafka_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        try:
            while not shutdown.requested:
                batch = self.consumer.consume(1000, timeout=0.5)
                for msg in batch:
                    if msg.error():
                        log.warning("consumer error", extra={"error": msg.error().str()})
                        continue
                    self.handle(msg.partition(), msg.offset(), msg.value())
                    if self.writer.rows >= self.settings.lake_roll_rows:
                        self.roll_if_due()
                self.roll_if_due()
            self.roll_if_due(force=True)
        except KafkaException:
            self.healthy_commit = False
            raise
        finally:
            self.consumer.close()

    def health_checks(self) -> dict[str, Check]:
        return {
            "kafka": lambda: broker_reachable(self.health_client, timeout=2.0),
            "committing": lambda: self.healthy_commit,
        }
