"""Kafka -> Elasticsearch: consume a bounded batch, bulk-index it, dead-letter what the engine refuses,
and commit the batch's offsets only when every record is either acknowledged by Elasticsearch or
acknowledged by the DLQ topic. A crash or an outage therefore replays, and replays never duplicate
(idempotent ``_id`` + ``create``: a replayed document answers 409)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from elasticsearch import ApiError, Elasticsearch, helpers
from prometheus_client import Counter, Gauge

from es_indexer.outcomes import classify
from es_indexer.settings import Settings
from es_indexer.targets import TARGETS, IndexTarget
from geostream import contracts
from geostream.kafka import (
    broker_reachable,
    dlq_record,
    make_batch_producer,
    make_consumer,
    produce_and_wait,
)
from geostream.lifecycle import Shutdown, backoff

log = logging.getLogger("es-indexer")

DOCUMENTS = Counter("es_indexer_documents", "records handled, by index and result", ["index", "result"])
BULK_REQUESTS = Counter("es_indexer_bulk_requests", "bulk requests sent, by outcome", ["outcome"])
BATCHES = Counter("es_indexer_batches", "batches committed")
RETRIES = Counter("es_indexer_retries", "waits before re-sending documents (429, 5xx, engine down)")
LAST_COMMIT = Gauge("es_indexer_last_commit_timestamp_seconds", "when offsets were last committed")
BATCH_SIZE = Gauge("es_indexer_last_batch_records", "records in the last batch")


class Abandoned(Exception):  # noqa: N818 - control flow, not an error
    """Shutdown was requested while a batch waited for the engine: leave it uncommitted (it replays)."""


@dataclass
class Pending:
    position: int
    msg: Message
    target: IndexTarget
    action: dict[str, Any] | None = None
    dlq_reason: str | None = None


def make_client(settings: Settings) -> Elasticsearch:
    options: dict[str, Any] = {
        "request_timeout": settings.elasticsearch_request_timeout_s,
        "max_retries": 0,  # retries are ours, with backoff and without double-counting
        "retry_on_timeout": False,
    }
    password = settings.elasticsearch_password.get_secret_value()
    if password:
        options["basic_auth"] = (settings.elasticsearch_username, password)
    if settings.elasticsearch_ca_certs:
        options["ca_certs"] = settings.elasticsearch_ca_certs
    return Elasticsearch(settings.elasticsearch_url, **options)


def install(es: Elasticsearch, settings: Settings, targets: list[IndexTarget]) -> dict[str, bool]:
    """Lifecycle policies (when the cluster has ILM), index templates, data streams and plain indices;
    idempotent.

    Returns, per index, whether its ILM policy is attached.
    """
    attached: dict[str, bool] = {}
    for target in targets:
        with_ilm = False
        if settings.ilm != "off" and target.lifecycle is not None:
            try:
                es.ilm.put_lifecycle(name=target.index, body=target.lifecycle(settings))
                with_ilm = True
            except ApiError as exc:
                if settings.ilm == "on" or exc.status_code >= 500:
                    raise
                log.warning(
                    "no index lifecycle management on this cluster: retention not enforced",
                    extra={"index": target.index, "status": exc.status_code},
                )
        es.indices.put_index_template(name=target.index, body=target.template(settings, with_ilm))
        try:
            if target.data_stream:
                es.indices.create_data_stream(name=target.index)
            else:
                es.indices.create(index=target.index)
        except ApiError as exc:
            if exc.status_code != 400 or "already_exists" not in str(exc):
                raise
        attached[target.index] = with_ilm
        log.info("index template installed", extra={"index": target.index, "ilm": with_ilm})
    return attached


class Indexer:
    def __init__(self, settings: Settings, shutdown: Shutdown):
        self.settings = settings
        self.shutdown = shutdown
        names = [t.strip() for t in settings.indexer_topics.split(",") if t.strip()]
        unknown = [n for n in names if n not in TARGETS]
        if unknown:
            raise ValueError(f"INDEXER_TOPICS: no index target for {unknown}; known: {sorted(TARGETS)}")
        self.targets = [TARGETS[n] for n in names]
        self.es = make_client(settings)
        self.consumer: Consumer = make_consumer(
            settings.kafka_brokers,
            group_id=settings.indexer_group_id,
            client_id="es-indexer",
            **{"max.poll.interval.ms": 600_000},
        )
        self.dlq = make_batch_producer(
            settings.kafka_brokers, client_id="es-indexer-dlq", timeout_s=settings.dlq_timeout_s
        )
        self.installed = False
        self.last_bulk_ok: bool | None = None

    # -- start-up --

    def install_templates(self) -> None:
        delays = backoff(self.settings.retry_initial_s, self.settings.retry_max_s)
        while not self.shutdown.requested:
            try:
                install(self.es, self.settings, self.targets)
                self.installed = True
                return
            except Exception as exc:
                if isinstance(exc, ApiError) and 400 <= exc.status_code < 500 and exc.status_code != 429:
                    raise
                delay = next(delays)
                log.warning(
                    "elasticsearch not ready", extra={"error": str(exc)[:300], "retry_s": round(delay, 1)}
                )
                self.shutdown.wait(delay)

    def health_checks(self) -> dict:
        return {
            "kafka": lambda: broker_reachable(self.dlq),
            "elasticsearch": lambda: bool(self.es.ping()),
            "templates": lambda: self.installed,
        }

    # -- the loop --

    def run(self) -> None:
        self.install_templates()
        if self.shutdown.requested:
            return
        self.consumer.subscribe([t.topic for t in self.targets])
        log.info("consuming", extra={"topics": [t.topic for t in self.targets]})
        while not self.shutdown.requested:
            batch = self.next_batch()
            if not batch:
                continue
            try:
                self.process(batch)
            except Abandoned:
                log.info(
                    "batch left uncommitted at shutdown: it will be replayed", extra={"records": len(batch)}
                )
                return

    def next_batch(self) -> list[Message]:
        """Up to ``batch_max_docs`` records / ``batch_max_bytes``, waiting at most ``batch_max_wait_s`` after
        the first one."""
        s = self.settings
        batch: list[Message] = []
        size = 0
        deadline: float | None = None
        while len(batch) < s.batch_max_docs and size < s.batch_max_bytes:
            timeout = 0.5 if deadline is None else deadline - time.monotonic()
            if timeout <= 0:
                break
            messages = self.consumer.consume(min(500, s.batch_max_docs - len(batch)), timeout=timeout)
            for msg in messages:
                if msg.error():
                    log.warning("kafka consume error", extra={"error": msg.error().str()})
                    continue
                batch.append(msg)
                size += len(msg.value() or b"")
            if batch and deadline is None:
                deadline = time.monotonic() + s.batch_max_wait_s
            if not batch and (self.shutdown.requested or not messages):
                break
        return batch

    def process(self, batch: list[Message]) -> None:
        BATCH_SIZE.set(len(batch))
        items = [self.prepare(i, msg) for i, msg in enumerate(batch)]
        to_index = [p for p in items if p.action is not None]
        self.index(to_index)
        dead = [p for p in items if p.dlq_reason is not None]
        if dead:
            self.dead_letter(dead)
        self.commit(batch)

    def prepare(self, position: int, msg: Message) -> Pending:
        target = TARGETS[msg.topic()]
        pending = Pending(position, msg, target)
        try:
            record = orjson.loads(msg.value() or b"")
        except orjson.JSONDecodeError as exc:
            pending.dlq_reason = f"not JSON: {exc}"[:500]
            return pending
        problems = (
            contracts.errors(target.topic, record) if not contracts.is_valid(target.topic, record) else []
        )
        if problems:
            pending.dlq_reason = "contract: " + "; ".join(map(str, problems))[:500]
            return pending
        try:
            pending.action = target.build_action(record)
        except ValueError as exc:
            pending.dlq_reason = f"not indexable: {exc}"[:500]
        return pending

    def index(self, items: list[Pending]) -> None:
        """Bulk-index until every item is indexed, a duplicate, or rejected by the engine (-> DLQ)."""
        delays = backoff(self.settings.retry_initial_s, self.settings.retry_max_s)
        waiting = items
        while waiting:
            positions: dict[str, list[int]] = {}
            for i, item in enumerate(waiting):
                positions.setdefault(item.action["_id"], []).append(i)
            try:
                results = list(
                    helpers.streaming_bulk(
                        self.es,
                        (item.action for item in waiting),
                        chunk_size=self.settings.batch_max_docs,
                        max_chunk_bytes=self.settings.batch_max_bytes + 1024 * 1024,
                        raise_on_error=False,
                        raise_on_exception=False,
                        yield_ok=True,
                    )
                )
            except Exception as exc:  # engine down, timeout, refused connection: the whole request again
                BULK_REQUESTS.labels("failed").inc()
                self.last_bulk_ok = False
                self.wait_before_retry(next(delays), f"bulk request failed: {exc}", len(waiting))
                continue
            outcome = classify(results, positions)
            BULK_REQUESTS.labels("answered").inc()
            self.last_bulk_ok = True
            for result, group in (("indexed", outcome.indexed), ("duplicate", outcome.duplicates)):
                for i in group:
                    DOCUMENTS.labels(waiting[i].target.index, result).inc()
            for i, reason in outcome.rejected:
                waiting[i].dlq_reason = f"elasticsearch rejected the document: {reason}"
                DOCUMENTS.labels(waiting[i].target.index, "rejected").inc()
            waiting = [waiting[i] for i in sorted(outcome.retry)]
            if waiting:
                self.wait_before_retry(next(delays), "documents to retry (429/5xx)", len(waiting))

    def wait_before_retry(self, delay: float, why: str, count: int) -> None:
        RETRIES.inc()
        log.warning(why[:300], extra={"documents": count, "retry_s": round(delay, 2)})
        self.keep_membership(delay)

    def keep_membership(self, seconds: float) -> None:
        """Wait without taking more records but still polling, so the group keeps this member."""
        if self.shutdown.requested:
            raise Abandoned
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.pause(assignment)
        try:
            deadline = time.monotonic() + seconds
            while (remaining := deadline - time.monotonic()) > 0:
                if self.shutdown.wait(min(remaining, 0.2)):
                    raise Abandoned
                msg = self.consumer.poll(0)
                if msg is not None and not msg.error():
                    # A partition assigned during the pause is not paused: rewind it and pause it too, so
                    # the record is read again after this batch instead of being skipped.
                    partition = TopicPartition(msg.topic(), msg.partition(), msg.offset())
                    self.consumer.seek(partition)
                    self.consumer.pause([partition])
        finally:
            current = self.consumer.assignment()
            if current:
                self.consumer.resume(current)

    def dead_letter(self, items: list[Pending]) -> None:
        delays = backoff(self.settings.retry_initial_s, self.settings.retry_max_s)
        by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
        for item in items:
            record = dlq_record(item.dlq_reason, source="es-indexer", original=item.msg.value(), msg=item.msg)
            by_topic.setdefault(item.target.dlq_topic, []).append((item.msg.key(), orjson.dumps(record)))
            log.warning("dead-lettered", extra={"reason": item.dlq_reason[:300], "topic": item.msg.topic()})
        for topic, records in by_topic.items():
            while True:
                report = produce_and_wait(self.dlq, topic, records, timeout=self.settings.dlq_timeout_s)
                if report.complete:
                    break
                # Re-sending the whole set may duplicate a DLQ entry; losing one would be worse.
                self.wait_before_retry(next(delays), f"DLQ not acknowledged: {report.errors}", report.failed)
        for item in items:
            if item.action is None:
                DOCUMENTS.labels(item.target.index, "invalid").inc()

    def commit(self, batch: list[Message]) -> None:
        offsets: dict[tuple[str, int], int] = {}
        for msg in batch:
            key = (msg.topic(), msg.partition())
            offsets[key] = max(offsets.get(key, -1), msg.offset() + 1)
        try:
            self.consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
            )
        except KafkaException as exc:
            # Partitions moved to another member meanwhile: it replays them (no duplicates, same ids).
            log.warning("offset commit failed", extra={"error": exc.args[0].str()})
            return
        BATCHES.inc()
        LAST_COMMIT.set_to_current_time()

    def close(self) -> None:
        try:
            self.consumer.close()
        finally:
            self.dlq.flush(5)
            self.es.close()
