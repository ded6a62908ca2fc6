"""The service's Prometheus metrics (summed over gunicorn workers: geostream.metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "http_ingest_requests_total", "Requests answered, by endpoint and HTTP status", ["endpoint", "status"]
)
ACCEPTED_POINTS = Counter(
    "http_ingest_points_accepted_total", "Points acknowledged by Kafka (acks=all)", ["endpoint"]
)
REJECTED = Counter(
    "http_ingest_rejected_total",
    "Requests refused with a 4xx, by endpoint and reason (the JSON error code)",
    ["endpoint", "reason"],
)
KAFKA_ERRORS = Counter(
    "http_ingest_kafka_errors_total", "Requests answered 503 because Kafka did not acknowledge every point",
    ["endpoint"],
)  # fmt: skip
UNDELIVERED_POINTS = Counter(
    "http_ingest_points_undelivered_total", "Points Kafka did not acknowledge (the client was told: 503)"
)
DELIVERY_SECONDS = Histogram(
    "http_ingest_delivery_seconds",
    "Time from handing a request's points to the producer until Kafka acknowledged them all",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PRODUCER_REPLACED = Counter("http_ingest_producer_replaced_total", "Fatal/fenced producers replaced")
