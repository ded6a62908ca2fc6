"""Feeds the latest-position table from ``websocket_updates_topic`` (aiokafka).

Every instance must see every message, so the relay joins no consumer group: it assigns itself every
partition of the topic and never commits offsets. On start it reads back ``RELAY_VEHICLE_TTL_S``
(offsets looked up by timestamp) so the first clients get a full snapshot; ``/health`` reports
``lookback`` up once that backlog is read. After a broken session it resumes from the offsets it had
reached, so a reconnect neither loses nor replays the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from geostream.lifecycle import backoff
from ws_relay.protocol import MalformedRecordError, decode_point
from ws_relay.protocol_v2 import encode_strings
from ws_relay.settings import Settings
from ws_relay.stats import Stats, Throttle
from ws_relay.table import LatestTable, Outcome

log = logging.getLogger("ws-relay.kafka")

PROBE_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 10.0
POLL_TIMEOUT_MS = 200
# Records handled between two yields to the event loop: bounds how long frames can wait for ingestion.
MAX_RECORDS_PER_POLL = 1000


def now_ms() -> int:
    return int(time.time() * 1000)


def cancelled_by_caller() -> bool:
    """Whether the running task itself is being cancelled (the relay shutting down), as opposed to a
    CancelledError that aiokafka raised from one of its own tasks: the latter is a failed request."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def close_quietly(client: str, closing: Coroutine) -> bool:
    """Closes a Kafka client in a task of its own, for at most ``CLOSE_TIMEOUT_S``: whatever the close
    raises or however long it hangs, the session's clean-up goes on. False if it did not close cleanly.

    On a dead broker aiokafka 0.14's ``AIOKafkaConsumer.stop()`` raises CancelledError: it cancels its
    fetch task while that sleeps after a failed fetch (``Fetcher._proc_fetch_request``) and awaits it
    unguarded (``Fetcher.close``), so the error must not reach the session's task."""
    task = asyncio.ensure_future(closing)
    done, _ = await asyncio.wait({task}, timeout=CLOSE_TIMEOUT_S)
    if not done:
        task.cancel()
        error = f"not closed after {CLOSE_TIMEOUT_S} s"
    elif task.cancelled():
        error = "CancelledError raised inside the client"
    elif (exc := task.exception()) is not None:
        error = f"{type(exc).__name__}: {exc}"
    else:
        return True
    log.warning("kafka client close failed", extra={"client": client, "error": error})
    return False


class KafkaSource:
    def __init__(
        self,
        settings: Settings,
        table: LatestTable,
        stats: Stats,
        client_id: str,
        clock: Callable[[], int] = now_ms,
    ):
        self.settings = settings
        self.topic = settings.kafka_websocket_topic
        self.table = table
        self.stats = stats
        self.client_id = client_id
        self.clock = clock
        self.connected = False
        """The last metadata probe reached the cluster."""
        self.caught_up = False
        """The start-up look-back has been read: the table holds every vehicle of the TTL window."""
        self.next_offsets: dict[TopicPartition, int] = {}
        self.end_offsets: dict[TopicPartition, int] = {}
        """Each partition's high watermark as of the last fetch response (every fetch carries it)."""
        self._targets: dict[TopicPartition, int] = {}
        self._lookback_from = 0
        self._stopping = asyncio.Event()
        self._assigned = False
        self._reposition = False
        self._malformed_log = Throttle()
        self._started = time.monotonic()

    def stop(self) -> None:
        self._stopping.set()

    def lag(self) -> dict[int, int]:
        """Records behind each partition's end: its high watermark minus the next offset to read."""
        return {
            tp.partition: max(0, end - self.next_offsets[tp])
            for tp, end in sorted(self.end_offsets.items())
            if tp in self.next_offsets
        }

    async def run(self) -> None:
        """Consume until :meth:`stop`; a failed session is retried with exponential backoff."""
        delays = backoff(maximum=15.0)
        while not self._stopping.is_set():
            self._assigned = False
            try:
                await self._session()
                continue
            except asyncio.CancelledError as exc:
                if cancelled_by_caller():
                    raise
                failure: BaseException = exc  # aiokafka's own, from a request to a dead broker
            except Exception as exc:  # a bad session must never end the relay: clients keep their table
                failure = exc
            self.connected = False
            if self._assigned:  # it had worked: start the backoff over
                delays = backoff(maximum=15.0)
            delay = next(delays)
            log.warning(
                "kafka session failed, retrying",
                extra={"error": f"{type(failure).__name__}: {failure}", "retry_in_s": round(delay, 2)},
                exc_info=not isinstance(failure, KafkaError | OSError | TimeoutError),
            )
            await self._sleep(delay)
        self.connected = False

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _kafka_args(self) -> dict:
        return {
            "bootstrap_servers": self.settings.kafka_brokers,
            "client_id": self.client_id,
            "request_timeout_ms": 15_000,
            "retry_backoff_ms": 200,
        }

    async def _session(self) -> None:
        meta = AIOKafkaClient(**self._kafka_args())
        consumer: AIOKafkaConsumer | None = None
        probe: asyncio.Task | None = None
        try:
            await meta.bootstrap()
            partitions = await self._wait_for_topic(meta)
            if partitions is None:
                return
            # Probed from here on, so /health turns unhealthy even if Kafka dies while the consumer starts.
            self.connected = True
            probe = asyncio.create_task(self._probe(meta, set(partitions)), name="kafka-probe")
            consumer = AIOKafkaConsumer(
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=self.settings.relay_fetch_max_wait_ms,
                fetch_max_bytes=16 * 1024 * 1024,
                max_partition_fetch_bytes=1024 * 1024,
                **self._kafka_args(),
            )
            await consumer.start()
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await self._position(consumer, tps)
            self.connected = self._assigned = True
            while not self._stopping.is_set():
                batches = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=MAX_RECORDS_PER_POLL)
                for tp, records in batches.items():
                    self._ingest(tp, records)
                for tp in tps:
                    if (end := consumer.highwater(tp)) is not None:
                        self.end_offsets[tp] = end
                if self._targets:
                    await self._check_caught_up(consumer)
                if self._reposition:
                    self._reposition = False
                    return
        finally:
            if probe is not None:
                probe.cancel()
            if consumer is not None and not await close_quietly("consumer", consumer.stop()):
                # stop() gave up before closing the consumer's own connections and metadata task.
                await close_quietly("consumer's client", consumer._client.close())
            await close_quietly("metadata client", meta.close())

    async def _wait_for_topic(self, meta: AIOKafkaClient) -> set[int] | None:
        """The topic's partitions, once it exists; a metadata request for all topics never creates one."""
        delays = backoff(initial=1.0, maximum=10.0)
        while not self._stopping.is_set():
            cluster = await meta.fetch_all_metadata()
            partitions = cluster.partitions_for_topic(self.topic)
            if partitions:
                return partitions
            self.connected = True
            delay = next(delays)
            log.warning("waiting for topic", extra={"topic": self.topic, "retry_in_s": round(delay, 2)})
            await self._sleep(delay)
        return None

    async def _position(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
        known = [tp for tp in tps if tp in self.next_offsets]
        new = [tp for tp in tps if tp not in self.next_offsets]
        if known:
            # A partition whose end is now before where we stopped was recreated or truncated (topic
            # deleted and re-created, a broker that lost its log): read it from its start again, or the
            # relay would wait for offsets that may never come back.
            ends = await consumer.end_offsets(known)
            for tp in known:
                if self.next_offsets[tp] > ends[tp]:
                    log.warning(
                        "partition reset behind us: reading it from the start",
                        extra={"partition": tp.partition, "was_at": self.next_offsets[tp], "end": ends[tp]},
                    )
                    await consumer.seek_to_beginning(tp)
                    self.next_offsets[tp] = await consumer.position(tp)
                else:
                    consumer.seek(tp, self.next_offsets[tp])
            offsets = {str(tp.partition): offset for tp, offset in self.next_offsets.items()}
            log.info("resuming", extra={"offsets": offsets})
        if new:
            await self._look_back(consumer, new, added_later=bool(known))

    async def _look_back(
        self, consumer: AIOKafkaConsumer, tps: list[TopicPartition], added_later: bool
    ) -> None:
        """Positions partitions read for the first time ``RELAY_VEHICLE_TTL_S`` back: every partition
        at start-up, and partitions added to the topic later."""
        self._lookback_from = self.clock() - int(self.settings.relay_vehicle_ttl_s * 1000)
        found = await consumer.offsets_for_times({tp: self._lookback_from for tp in tps})
        for tp in tps:
            hit = found.get(tp)
            if hit is None:
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, hit.offset)
        ends = await consumer.end_offsets(tps)
        starts = {tp: await consumer.position(tp) for tp in tps}
        self.next_offsets.update(starts)
        self._targets.update({tp: ends[tp] for tp in tps if ends[tp] > starts[tp]})
        log.info(
            "partitions added: reading them" if added_later else "reading back",
            extra={
                "seconds": self.settings.relay_vehicle_ttl_s,
                "records": sum(ends[tp] - starts[tp] for tp in tps),
                "partitions": [tp.partition for tp in tps],
            },
        )
        if added_later:
            return  # clients are already served: no gate on new partitions
        self.caught_up = not self._targets
        if self.caught_up:
            self._log_caught_up()

    def _ingest(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        stats, table = self.stats, self.table
        now = self.clock()
        target = self._targets.get(tp)
        for record in records:
            stats.records += 1
            try:
                point = decode_point(record.value)
            except MalformedRecordError as exc:
                stats.malformed[exc.kind] += 1
                if self._malformed_log.allow(time.monotonic()):
                    log.warning(
                        "malformed record skipped",
                        extra={
                            "partition": tp.partition,
                            "offset": record.offset,
                            "kind": exc.kind,
                            "reason": exc.reason,
                            "malformed_total": sum(stats.malformed.values()),
                        },
                    )
                continue
            if target is not None and record.offset < target:
                # Look-back record: a broker may answer the timestamp lookup with an earlier offset.
                if record.timestamp < self._lookback_from:
                    stats.lookback_skipped += 1
                    continue
                seen = min(record.timestamp, now)
            else:
                seen = now
            outcome = table.apply(
                point.vehicle_id,
                point.lon,
                point.lat,
                point.ts,
                point.json,
                seen,
                speed=point.speed,
                heading=point.heading,
                alt=point.alt,
                battery=point.battery,
                strings=encode_strings(point.vehicle_id, point.source),
            )
            if outcome is Outcome.APPLIED:
                stats.points_applied += 1
            else:
                stats.points_stale += 1
        if records:
            self.next_offsets[tp] = records[-1].offset + 1

    async def _check_caught_up(self, consumer: AIOKafkaConsumer) -> None:
        for tp, target in list(self._targets.items()):
            if await consumer.position(tp) >= target:
                del self._targets[tp]
        if not self._targets and not self.caught_up:
            self.caught_up = True
            self._log_caught_up()

    def _log_caught_up(self) -> None:
        log.info(
            "look-back loaded",
            extra={"vehicles": len(self.table), "seconds": round(time.monotonic() - self._started, 3)},
        )

    async def _probe(self, meta: AIOKafkaClient, assigned: set[int]) -> None:
        """Every ``RELAY_METADATA_REFRESH_S``: is the broker reachable, has the topic more partitions?"""
        interval = self.settings.relay_metadata_refresh_s
        while True:
            await asyncio.sleep(interval)
            try:
                cluster = await asyncio.wait_for(meta.fetch_all_metadata(), max(interval, PROBE_TIMEOUT_S))
            except (Exception, asyncio.CancelledError) as exc:
                if isinstance(exc, asyncio.CancelledError) and cancelled_by_caller():
                    raise
                # Whatever the client raised, the broker was not reached; the probe must go on.
                if self.connected:
                    log.warning("kafka unreachable", extra={"error": f"{type(exc).__name__}: {exc}"})
                self.connected = False
            else:
                if not self.connected:
                    # Start a new session: it re-checks every partition's end against where we stopped
                    # (a broker that lost its log would otherwise leave us waiting at a vanished offset).
                    log.info("kafka reachable again")
                    self._reposition = True
                self.connected = True
                added = (cluster.partitions_for_topic(self.topic) or set()) - assigned
                if added:
                    # A new session assigns them too, read back like the others at start-up.
                    log.info("new partitions found", extra={"partitions": sorted(added)})
                    self._reposition = True
