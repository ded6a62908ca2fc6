"""The Flask application: authentication, validation, delivery (Kafka I/O: ``geostream.kafka``)."""

from __future__ import annotations

import logging
import time

import orjson
from flask import Flask, Response, request

from geostream.contracts import FieldError
from geostream.kafka import ReplaceableProducer, make_batch_producer, topic_writable
from geostream.locations import BatchError, parse_batch
from geostream.metrics import exposition
from geostream.web import error_response, json_errors, json_response
from http_ingest import metrics
from http_ingest.auth import Grant, bearer_token, grant_for, parse_tokens
from http_ingest.delivery import deliver, unavailable
from http_ingest.openapi import OPENAPI
from http_ingest.settings import Settings

log = logging.getLogger("http-ingest")


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
    tokens = parse_tokens(
        *(s.get_secret_value() for s in (settings.ingest_tokens, settings.ingest_token) if s is not None)
    )
    if not tokens:
        log.warning("no INGEST_TOKENS configured: /ingest/location and OsmAnd accept anonymous writes")
    app.extensions["ingest_tokens"] = tokens
    from http_ingest.protocols import protocols_blueprint

    app.register_blueprint(protocols_blueprint(settings, kafka, tokens))

    @app.post("/ingest/location")
    def ingest_location() -> Response:
        grant = authorize(tokens)
        if isinstance(grant, Response):
            return grant
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
                max_future_ms=settings.max_future_ms,
                min_ts_ms=settings.min_ts_ms,
            )
        except BatchError as exc:
            return error_response(
                400,
                "invalid_batch",
                "nothing was sent: fix these fields",
                exc.errors,
                truncated=exc.truncated,
            )
        if grant is not None and grant.prefix:
            foreign = sorted({p["vehicle_id"] for p in batch.points if not grant.allows(p["vehicle_id"])})
            if foreign:
                return error_response(
                    403,
                    "forbidden",
                    f"this token may only send vehicle ids starting with {grant.prefix!r}; nothing was sent",
                    [FieldError("vehicleID", f"{vid!r} is not allowed") for vid in foreign[:50]],
                )
        # parse_batch builds contract-valid points by construction (property-tested against the schema in
        # tests/unit), so the hot path does not validate each point a second time.
        report = deliver(kafka, settings, batch.points, "location")
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
        problem = topic_writable(kafka.producer, settings.kafka_topic, timeout=2.0)
        checks = {"kafka": "up" if problem is None or "unreachable" not in problem else "down"}
        if problem is None and not kafka.delivering(settings.health_delivery_window_s):
            problem = f"latest delivery failed: {kafka.last_error}"
        checks["delivery"] = "up" if problem is None else f"down: {problem}"
        up = problem is None
        return json_response({"status": "ok" if up else "unhealthy", **checks}, 200 if up else 503)

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        body, content_type = exposition()
        return Response(body, 200, content_type=content_type)

    @app.get("/openapi.json")
    def openapi() -> Response:
        return json_response(OPENAPI, 200)

    @app.after_request
    def count(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.REQUESTS.labels(endpoint, str(response.status_code)).inc()
        if 400 <= response.status_code < 500:
            metrics.REJECTED.labels(endpoint, _reason(response)).inc()
        return response

    json_errors(app, {413: "body too large for this endpoint"})

    return app


def authorize(tokens: dict[str, Grant], presented: str | None = None) -> Grant | Response | None:
    """The caller's grant; None when no token is configured (open service); a 401 answer otherwise."""
    if not tokens:
        return None
    grant = grant_for(tokens, presented or bearer_token(request.headers.get("Authorization")))
    if grant is None:
        return error_response(
            401,
            "unauthorized",
            "send a valid API token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="geostream"'},
        )
    return grant


def _reason(response: Response) -> str:
    """The JSON error code of a 4xx answer (``invalid_batch``, ``unauthorized``, ...), else the status."""
    if response.mimetype == "application/json" and not response.direct_passthrough:
        try:
            body = orjson.loads(response.get_data())
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"][:64]
    return str(response.status_code)
