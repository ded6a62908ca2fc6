"""The Flask application: parameter validation, CORS and JSON; queries live in ``trips_api.db``."""

from __future__ import annotations

import logging
import time

import psycopg2
from flask import Flask, Response, request

from geostream.web import error_response, json_errors, json_response
from trips_api import params
from trips_api.db import Area, Database
from trips_api.openapi import OPENAPI
from trips_api.settings import Settings

log = logging.getLogger("trips-api")


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    settings = settings or Settings()
    db = database or Database(settings.database_url, settings.db_pool_max, settings.db_statement_timeout_ms)
    app = Flask(__name__)
    app.extensions["database"] = db
    allowed_origins = {o.strip() for o in settings.cors_origins.split(",") if o.strip()}

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

    @app.get("/api/vehicles/latest")
    def latest() -> Response:
        since = None
        if request.args.get("since"):
            since = params.window({"start": request.args["since"]}, now_ms(), float("inf")).start_ms
        where, pg = params.collect(area, page)
        rows = db.latest(where, since, pg)
        return json_response({"vehicles": rows, "next_offset": next_offset(rows, pg)})

    @app.get("/api/vehicles/<vehicle_id>/trajectory")
    def trajectory(vehicle_id: str) -> Response:
        fmt = request.args.get("format", "trips")
        if fmt not in ("trips", "mfjson"):
            raise params.ParamError([params.FieldError("format", "must be trips or mfjson")])
        (win,) = params.collect(window)
        if fmt == "mfjson":
            return json_response(
                {"vehicle_id": vehicle_id, "trajectory": db.trajectory_mfjson(vehicle_id, win)}
            )
        return json_response({"vehicle_id": vehicle_id, "trips": db.trajectory_trips(vehicle_id, win)})

    @app.get("/api/vehicles/<vehicle_id>/stats")
    def vehicle_stats(vehicle_id: str) -> Response:
        (win,) = params.collect(window)
        rows = db.stats(vehicle_id, win)
        return json_response(rows[0] if rows else {"vehicle_id": vehicle_id, "trips": 0})

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

    @app.errorhandler(params.ParamError)
    def bad_parameters(exc: params.ParamError) -> Response:
        return error_response(400, "invalid_parameter", "fix these query parameters", exc.errors)

    @app.errorhandler(psycopg2.errors.QueryCanceled)
    def too_slow(_exc: Exception) -> Response:
        return error_response(503, "query_timeout", "the query took too long; narrow the window or the area")

    @app.errorhandler(psycopg2.OperationalError)
    def database_down(exc: Exception) -> Response:
        log.warning("database unavailable", extra={"error": str(exc)})
        return error_response(
            503, "database_unavailable", "MobilityDB is unavailable", headers={"Retry-After": "5"}
        )

    json_errors(app)

    @app.after_request
    def cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and ("*" in allowed_origins or origin in allowed_origins):
            response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed_origins else origin
            response.headers["Vary"] = "Origin"
        return response

    return app
