"""The Flask application: access control, parameter validation, CORS and JSON; queries live in
``trips_api.db``.

Every ``/api/...`` request passes, in order: the access policy (token or allowed origin, 401), the
per-client-address rate limit (429 with ``Retry-After``), the query-parameter checks (400 naming the
field). Vehicle ids may contain ``/`` (OwnTracks ``user/device``): ``/api/vehicles/alice/phone/stats``
and ``/api/vehicles/alice%2Fphone/stats`` are the same request.
"""

from __future__ import annotations

import logging
import time

import psycopg2
from flask import Flask, Response, g, request
from werkzeug.routing import PathConverter

from geostream.access import bearer_token, parse_list
from geostream.web import error_response, json_errors, json_response
from trips_api import metrics, params
from trips_api.access import AccessPolicy, RateLimiter, retry_after
from trips_api.db import Area, Database
from trips_api.openapi import OPENAPI
from trips_api.settings import Settings

log = logging.getLogger("trips-api")
OPEN_PATHS = ("/health", "/openapi.json", "/metrics")


class VehicleIdConverter(PathConverter):
    """Like ``path`` (slashes included), but any character, so that every id reaches the validation
    (and a newline gets a 400 naming the field, not a 404)."""

    regex = r"[^/][\s\S]*?"


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    settings = settings or Settings()
    db = database or Database(
        settings.query_database_url, settings.db_pool_max, settings.db_statement_timeout_ms
    )
    if settings.database_read_url:
        log.info("queries go to DATABASE_READ_URL (a read replica)")
    app = Flask(__name__)
    app.url_map.converters["vehicle"] = VehicleIdConverter
    app.extensions["database"] = db
    allowed_origins = {o.strip() for o in settings.cors_origins.split(",") if o.strip()}
    policy = AccessPolicy(
        parse_list(settings.api_tokens.get_secret_value()), parse_list(settings.api_allowed_origins)
    )
    limiter = RateLimiter(settings.api_rate_per_ip, settings.api_burst_per_ip)
    if policy.open:
        log.warning("no API_TOKENS and no API_ALLOWED_ORIGINS: the API is open to anyone")

    def now_ms() -> int:
        return int(time.time() * 1000)

    def window():
        return params.window(request.args, now_ms(), settings.api_max_window_days)

    def page():
        return params.page(request.args, settings.api_default_limit, settings.api_max_limit)

    def area() -> Area:
        bbox, polygon = params.collect(
            lambda: params.bbox(request.args), lambda: params.polygon(request.args)
        )
        if bbox and polygon:
            raise params.ParamError([params.FieldError("polygon", "give either bbox or polygon, not both")])
        return Area(bbox, polygon)

    def next_offset(rows: list, pg: params.Page) -> int | None:
        return pg.offset + pg.limit if len(rows) == pg.limit else None

    @app.before_request
    def guard() -> Response | None:
        g.started = time.monotonic()
        if request.method == "OPTIONS" or request.path in OPEN_PATHS:
            return None  # CORS preflights carry no credentials; health and docs are public
        refusal = policy.decide(
            bearer_token(request.headers.get("Authorization")), request.headers.get("Origin")
        )
        if refusal is not None:
            metrics.REJECTED.labels("unauthorized").inc()
            return error_response(401, "unauthorized", refusal, headers={"WWW-Authenticate": "Bearer"})
        wait = limiter.acquire(request.remote_addr or "-")
        if wait > 0:
            metrics.REJECTED.labels("rate_limited").inc()
            return error_response(
                429,
                "rate_limited",
                "too many requests from this address",
                headers={"Retry-After": retry_after(wait)},
            )
        params.text_params(request.args)
        return None

    @app.get("/api/vehicles/latest")
    def latest() -> Response:
        since = None
        if request.args.get("since"):
            since = params.collect(
                lambda: params.window({"start": request.args["since"]}, now_ms(), float("inf")).start_ms
            )[0]
        where, pg = params.collect(area, page)
        rows = db.latest(where, since, pg)
        return json_response({"vehicles": rows, "next_offset": next_offset(rows, pg)})

    @app.get("/api/vehicles/<vehicle:vehicle_id>/trajectory")
    def trajectory(vehicle_id: str) -> Response:
        fmt = request.args.get("format", "trips")
        if fmt not in ("trips", "mfjson"):
            raise params.ParamError([params.FieldError("format", "must be trips or mfjson")])
        vid, win = params.collect(lambda: params.vehicle_id(vehicle_id), window)
        if fmt == "mfjson":
            return json_response({"vehicle_id": vid, "trajectory": db.trajectory_mfjson(vid, win)})
        return json_response({"vehicle_id": vid, "trips": db.trajectory_trips(vid, win)})

    @app.get("/api/vehicles/<vehicle:vehicle_id>/stats")
    def vehicle_stats(vehicle_id: str) -> Response:
        vid, win = params.collect(lambda: params.vehicle_id(vehicle_id), window)
        rows = db.stats(vid, win)
        return json_response(rows[0] if rows else {"vehicle_id": vid, "trips": 0})

    @app.get("/api/stats")
    def stats() -> Response:
        (win,) = params.collect(window)
        return json_response({"vehicles": db.stats(None, win)})

    @app.get("/api/trips")
    def trips() -> Response:
        win, where, pg = params.collect(window, area, page)
        rows = db.trips(where, win, pg)
        return json_response(
            {"start": win.start_ms, "end": win.end_ms, "trips": rows, "next_offset": next_offset(rows, pg)}
        )

    @app.get("/api/vehicles")
    def vehicles_in_area() -> Response:
        win, where, pg = params.collect(window, area, page)
        rows = db.vehicles_in_area(where, win, pg)
        return json_response({"vehicles": rows, "next_offset": next_offset(rows, pg)})

    def offline_after_ms() -> int:
        return params.duration_ms(
            request.args, "offline_after", settings.device_offline_after, settings.api_max_window_days
        )

    def device_status_rows(device_id: str | None = None) -> tuple[list[dict], int]:
        (limit_ms,) = params.collect(offline_after_ms)
        rows = db.device_status(now_ms(), limit_ms, device_id)
        for row in rows:
            row["status"] = "online" if row.pop("online") else "offline"
        return rows, limit_ms

    @app.get("/api/devices/status")
    def devices_status() -> Response:
        rows, limit_ms = device_status_rows()
        online = sum(row["status"] == "online" for row in rows)
        return json_response(
            {
                "offline_after_s": limit_ms / 1000,
                "online": online,
                "offline": len(rows) - online,
                "devices": rows,
            }
        )

    @app.get("/api/devices/<vehicle:device_id>/latest")
    def device_latest(device_id: str) -> Response:
        (vid,) = params.collect(lambda: params.vehicle_id(device_id))
        rows, _ = device_status_rows(vid)
        if not rows:
            return error_response(404, "not_found", f"no point stored for device {vid!r}")
        return json_response(rows[0])

    @app.get("/api/devices/<vehicle:device_id>/history")
    def device_history(device_id: str) -> Response:
        vid, span_ms, pg = params.collect(
            lambda: params.vehicle_id(device_id),
            lambda: params.duration_ms(request.args, "duration", "5m", settings.api_max_window_days),
            page,
        )
        end = now_ms()
        rows = db.device_history(vid, end - span_ms, end, pg.limit)
        return json_response({"device_id": vid, "start": end - span_ms, "end": end, "points": rows})

    @app.get("/health")
    def health() -> Response:
        try:
            up = db.ping()
        except psycopg2.Error:
            up = False
        body = {"status": "ok" if up else "unhealthy", "database": "up" if up else "down"}
        return json_response(body, 200 if up else 503)

    @app.get("/openapi.json")
    def openapi() -> Response:
        return json_response(OPENAPI)

    @app.get("/metrics")
    def prometheus() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    @app.errorhandler(params.ParamError)
    def bad_parameters(exc: params.ParamError) -> Response:
        metrics.REJECTED.labels("invalid_parameter").inc()
        return error_response(400, "invalid_parameter", "fix these query parameters", exc.errors)

    @app.errorhandler(psycopg2.errors.QueryCanceled)
    def too_slow(_exc: Exception) -> Response:
        metrics.DATABASE_ERRORS.labels("timeout").inc()
        return error_response(503, "query_timeout", "the query took too long; narrow the window or the area")

    @app.errorhandler(psycopg2.OperationalError)
    def database_down(exc: Exception) -> Response:
        metrics.DATABASE_ERRORS.labels("unavailable").inc()
        log.warning("database unavailable", extra={"error": str(exc)})
        return error_response(
            503, "database_unavailable", "MobilityDB is unavailable", headers={"Retry-After": "5"}
        )

    @app.errorhandler(psycopg2.DataError)
    def database_refused_a_value(exc: Exception) -> Response:
        # A value the checks above let through but PostgreSQL refuses (out of range, bad geometry): the
        # client's input, so a 400; logged, because the checks should have caught it.
        metrics.DATABASE_ERRORS.labels("data").inc()
        log.warning("database refused a parameter", extra={"error": str(exc)[:300], "path": request.path})
        return error_response(400, "invalid_parameter", "a parameter is outside what the database accepts")

    json_errors(app)

    @app.after_request
    def cors_and_count(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and ("*" in allowed_origins or origin in allowed_origins):
            response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed_origins else origin
            response.headers["Vary"] = "Origin"
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Headers"] = "Authorization"
                response.headers["Access-Control-Allow-Methods"] = "GET"
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.REQUESTS.labels(route, str(response.status_code)).inc()
        if "started" in g:
            metrics.DURATION.labels(route).observe(time.monotonic() - g.started)
        return response

    return app
