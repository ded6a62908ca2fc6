"""Points to Kafka for every endpoint of the service: a 2xx only once the broker acknowledged them all."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response

from geostream.kafka import DeliveryReport, ReplaceableProducer, encode_many, produce_and_wait
from geostream.web import error_response
from http_ingest.settings import Settings

log = logging.getLogger("http-ingest")


def deliver(slot: ReplaceableProducer, settings: Settings, points: list[dict[str, Any]]) -> DeliveryReport:
    values = encode_many(points)
    records = [(point["vehicle_id"].encode(), value) for point, value in zip(points, values, strict=True)]
    producer = slot.producer
    timeout = settings.ingest_delivery_timeout_s
    report = produce_and_wait(producer, settings.kafka_topic, records, timeout=timeout)
    if report.fatal:
        slot.replace(producer)
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
