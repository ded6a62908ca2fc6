"""JSON responses and errors for the Flask services (http-ingest, trips-api).

Every error has the same shape: ``{"status": "error", "error": code, "message": ..., "errors": [{field,
reason}]}``, including Flask's own (404, 405, 413, ...). Only Flask services import this module.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from geostream.contracts import FieldError


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json", headers=headers)


def error_response(
    status: int,
    code: str,
    message: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {"status": "error", "error": code, "message": message, **extra}
    if errors is not None:
        body["errors"] = [e.as_dict() for e in errors]
    return json_response(body, status, headers)


def json_errors(app: Flask, messages: dict[int, str] | None = None) -> None:
    """Answer Flask's own HTTP errors (404, 405, 413, ...) in the JSON error shape."""
    messages = messages or {}

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(status, code, messages.get(status) or exc.description or exc.name)
