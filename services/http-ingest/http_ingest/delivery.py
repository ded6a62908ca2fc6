"""Points to Kafka for every endpoint of the service: a 2xx only once the broker acknowledged them all."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Response

from geostream.kafka import DeliveryReport, ReplaceableProducer, encode_many, produce_and_wait
from geostream.web import error_response
from http_ingest import metrics
from http_ingest.settings import Settings

log = logging.getLogger("http-ingest")


def deliver(
    slot: ReplaceableProducer, settings: Settings, points: list[dict[str, Any]], endpoint: str = "location"
) -> DeliveryReport:
    values = encode_many(points)
    records = [(point["vehicle_id"].encode(), value) for point, value in zip(points, values, strict=True)]
    producer = slot.producer
    started = time.monotonic()
    report = produce_and_wait(
        producer, settings.kafka_topic, records, timeout=settings.ingest_delivery_timeout_s
    )
    slot.record(report, producer)
    if report.fatal:
        metrics.PRODUCER_REPLACED.inc()
    if report.complete:
        metrics.DELIVERY_SECONDS.observe(time.monotonic() - started)
        metrics.ACCEPTED_POINTS.labels(endpoint).inc(report.delivered)
    else:
        metrics.KAFKA_ERRORS.labels(endpoint).inc()
        metrics.UNDELIVERED_POINTS.inc(report.failed)
        if report.delivered:
            metrics.ACCEPTED_POINTS.labels(endpoint).inc(report.delivered)
    return report


def unavailable(report: DeliveryReport, settings: Settings) -> Response:
    """503 + Retry-After, saying how many points Kafka did acknowledge (never more)."""
    log.warning(
        "kafka did not acknowledge every point",
        extra={"points": report.total, "delivered": report.delivered, "errors": report.errors},
    )
    return error_response(
        503,
        "kafka_unavailable",
        "Kafka did not acknowledge every point in time; retry the whole request "
        "(points are idempotent downstream)",
        delivered=report.delivered,
        failed=report.failed,
        headers={"Retry-After": str(settings.ingest_retry_after_s)},
    )
