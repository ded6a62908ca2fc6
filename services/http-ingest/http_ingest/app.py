"""The Flask application: validation and delivery; Kafka I/O goes through ``geostream.kafka``."""

from __future__ import annotations

import time

import orjson
from flask import Flask, Response, request

from geostream.contracts import FieldError
from geostream.kafka import ReplaceableProducer, broker_reachable, make_batch_producer
from geostream.locations import BatchError, parse_batch
from geostream.web import error_response, json_errors, json_response
from http_ingest.delivery import deliver, unavailable
from http_ingest.openapi import OPENAPI
from http_ingest.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.ingest_max_body_bytes
    app.json.sort_keys = False
    kafka = ReplaceableProducer(
        lambda: make_batch_producer(
            settings.kafka_brokers, client_id="http-ingest", timeout_s=settings.ingest_delivery_timeout_s
        )
    )
    app.extensions["kafka"] = kafka
    from http_ingest.protocols import protocols_blueprint

    app.register_blueprint(protocols_blueprint(settings, kafka))

    @app.post("/ingest/location")
    def ingest_location() -> Response:
        if request.mimetype != "application/json":
            return error_response(
                415,
                "unsupported_media_type",
                f"Content-Type must be application/json, not {request.mimetype or 'missing'}",
            )
        try:
            items = orjson.loads(request.get_data(cache=False))
        except orjson.JSONDecodeError as exc:
            return error_response(400, "invalid_json", "body is not valid JSON", [FieldError("", str(exc))])
        try:
            batch = parse_batch(
                items,
                now_ms=int(time.time() * 1000),
                max_points=settings.ingest_max_points,
                max_future_ms=settings.ingest_max_future_s * 1000,
            )
        except BatchError as exc:
            return error_response(
                400,
                "invalid_batch",
                "nothing was sent: fix these fields",
                exc.errors,
                truncated=exc.truncated,
            )
        # parse_batch builds contract-valid points by construction (property-tested against the schema in
        # tests/unit), so the hot path does not validate each point a second time.
        report = deliver(kafka, settings, batch.points)
        if not report.complete:
            return unavailable(report, settings)
        return json_response(
            {
                "status": "ok",
                "sent": report.delivered,
                "message": "Points sent to processing pipeline",
                "duplicates": batch.duplicates,
            },
            202,
        )

    @app.get("/health")
    def health() -> Response:
        up = broker_reachable(kafka.producer, timeout=2.0)
        return json_response(
            {"status": "ok" if up else "unhealthy", "kafka": "up" if up else "down"}, 200 if up else 503
        )

    @app.get("/openapi.json")
    def openapi() -> Response:
        return json_response(OPENAPI, 200)

    json_errors(app, {413: f"body larger than {settings.ingest_max_body_bytes} bytes"})

    return app
