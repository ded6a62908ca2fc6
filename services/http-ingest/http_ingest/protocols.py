"""Phone-app protocols on the http-ingest port, so OwnTracks and Traccar Client work unchanged.

- OwnTracks HTTP mode (https://owntracks.org/booklet/tech/http/): ``POST /pub`` (the Recorder's path)
  and ``POST /ingest/owntracks``. The body is the app's JSON message, whatever the Content-Type (curl
  ``--data`` sends a form type); identity from ``X-Limit-U``/``X-Limit-D``, ``?u=``/``?d=``, the body's
  ``topic`` or ``tid``. Every well-formed message gets ``200 []`` (a JSON array, as the apps expect) -
  including the types that carry no point - because the apps drop (iOS) or endlessly retry (Android)
  a message answered with 4xx. Optional Basic auth (``OWNTRACKS_USERS``) and payload decryption
  (``OWNTRACKS_SECRET``).
- OsmAnd protocol (https://www.traccar.org/osmand/), as Traccar Client and the OsmAnd app send it:
  ``GET|POST /ingest/osmand`` and the Traccar-compatible root form ``GET|POST /?id=...`` (a client
  configured with ``http://host:5000`` works). Accepted requests get ``200`` with an empty body. The GET
  form writes, so it is refused (405) unless ``OSMAND_ALLOW_GET=true``; a plain ``GET /`` describes the
  service. With ``INGEST_TOKENS`` set, a token is required: ``Authorization: Bearer`` or ``?token=``
  (a token bound to a prefix only for device ids starting with it).

A 2xx means every point is in Kafka; otherwise 503 with Retry-After (both apps keep and retry the
message). Malformed requests get 400 with the service's JSON error; bodies over
``INGEST_MAX_PHONE_BODY_BYTES`` get 413.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, request
from pydantic import SecretStr

from geostream import contracts
from geostream.kafka import ReplaceableProducer
from geostream.settings import ServiceSettings
from geostream.sources import Mapped, RejectError, osmand, owntracks
from geostream.web import error_response, json_response
from http_ingest.auth import Grant, check_basic, parse_users
from http_ingest.delivery import deliver as deliver_points
from http_ingest.delivery import unavailable
from http_ingest.settings import Settings

log = logging.getLogger("http-ingest")


class ProtocolSettings(ServiceSettings):
    owntracks_secret: SecretStr | None = None
    """OwnTracks payload-encryption secret; without it encrypted messages are acknowledged and ignored."""
    owntracks_users: SecretStr | None = None
    """``user:password,user2:password2``: when set, OwnTracks requests need matching Basic auth."""


class IdentityMismatchError(RejectError):
    """The message claims another user than the one whose credentials came with it."""


class BodyTooLargeError(Exception):
    pass


def header_text(name: str) -> str | None:
    """A header's value as the client wrote it: WSGI hands headers over as Latin-1, apps send UTF-8."""
    value = request.headers.get(name)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise RejectError(f"{name}: not valid UTF-8") from None


def protocols_blueprint(
    settings: Settings, kafka: ReplaceableProducer, tokens: dict[str, Grant] | None = None
) -> Blueprint:
    from http_ingest.app import authorize

    tokens = tokens or {}
    extra = ProtocolSettings()
    secret = extra.owntracks_secret.get_secret_value() if extra.owntracks_secret else ""
    users_spec = extra.owntracks_users.get_secret_value().strip() if extra.owntracks_users else ""
    users = parse_users(users_spec) if users_spec else None
    if users is None:
        log.warning("no OWNTRACKS_USERS configured: /pub and /ingest/owntracks accept anonymous writes")
    if secret:
        import nacl.secret  # noqa: F401  (fail at start-up, not on the first encrypted message)
    window = {"max_future_ms": settings.max_future_ms, "min_ts_ms": settings.min_ts_ms}
    limit = settings.ingest_max_phone_body_bytes
    blueprint = Blueprint("protocols", __name__)

    def body() -> bytes:
        if request.content_length is not None and request.content_length > limit:
            raise BodyTooLargeError
        data = request.stream.read(limit + 1)
        if len(data) > limit:
            raise BodyTooLargeError
        return data

    def too_large() -> Response:
        return error_response(413, "request_entity_too_large", f"body larger than {limit} bytes")

    def deliver(mapped: Mapped, endpoint: str) -> Response | None:
        """None when Kafka acknowledged every point; the 503 answer otherwise."""
        if not mapped.points:
            return None
        for point in mapped.points:
            contracts.check("locations_topic", point)
        report = deliver_points(kafka, settings, mapped.points, endpoint)
        return None if report.complete else unavailable(report, settings)

    def rejected(exc: RejectError, protocol: str) -> Response:
        return error_response(400, f"invalid_{protocol}_request", exc.reason)

    @blueprint.post("/pub")
    @blueprint.post("/ingest/owntracks")
    def owntracks_http() -> Response:
        auth_user = None
        if users is not None:
            auth_user = check_basic(users, request.headers.get("Authorization"))
            if auth_user is None:
                return error_response(
                    401,
                    "unauthorized",
                    "OwnTracks requests need valid Basic credentials",
                    headers={"WWW-Authenticate": 'Basic realm="geostream"'},
                )

        def identity(doc: dict) -> str:
            headers = {k: v for k in ("X-Limit-U", "X-Limit-D") if (v := header_text(k)) is not None}
            vehicle_id = owntracks.http_vehicle_id(headers, request.args, doc, auth_user)
            if auth_user is not None and vehicle_id.split("/")[0] != auth_user.strip().lower():
                raise IdentityMismatchError(
                    f"user {vehicle_id.split('/')[0]!r} does not match the credentials"
                )
            return vehicle_id

        try:
            mapped = owntracks.map_message(
                body(), identity, now_ms=int(time.time() * 1000), secret=secret, **window
            )
        except BodyTooLargeError:
            return too_large()
        except IdentityMismatchError as exc:
            return error_response(403, "forbidden", exc.reason)
        except RejectError as exc:
            return rejected(exc, "owntracks")
        if mapped.ignored:
            log.debug("owntracks message ignored", extra={"reason": mapped.ignored})
        return deliver(mapped, "owntracks") or Response(b"[]", 200, mimetype="application/json")

    @blueprint.route("/", methods=["GET", "POST"])
    @blueprint.route("/ingest/osmand", methods=["GET", "POST"])
    def osmand_protocol() -> Response:
        if request.method == "GET":
            if request.path == "/" and not request.query_string:
                return service_description()
            if not settings.osmand_allow_get:
                return error_response(
                    405,
                    "method_not_allowed",
                    "the OsmAnd GET form writes and is disabled here: send the same parameters with POST "
                    "(or set OSMAND_ALLOW_GET=true)",
                    headers={"Allow": "POST"},
                )
        try:
            data = body()
            if tokens:
                grant = authorize(tokens, request.args.get("token") or _form_token(data))
                if isinstance(grant, Response):
                    return grant
            mapped = osmand.from_request(
                request.headers.get("Content-Type"),
                request.query_string,
                data,
                now_ms=int(time.time() * 1000),
                **window,
            )
        except BodyTooLargeError:
            return too_large()
        except RejectError as exc:
            return rejected(exc, "osmand")
        if tokens:
            foreign = [p["vehicle_id"] for p in mapped.points if not grant.allows(p["vehicle_id"])]
            if foreign:
                return error_response(403, "forbidden", f"this token may not send device id {foreign[0]!r}")
        if mapped.ignored:
            log.debug("osmand request ignored", extra={"reason": mapped.ignored})
        return deliver(mapped, "osmand") or Response(b"", 200)

    def service_description() -> Response:
        return json_response(
            {
                "service": "geostream http-ingest",
                "openapi": "/openapi.json",
                "endpoints": [
                    "/ingest/location",
                    "/pub",
                    "/ingest/owntracks",
                    "/ingest/osmand",
                    "/health",
                    "/metrics",
                ],
            }
        )

    return blueprint


def _form_token(data: bytes) -> str | None:
    """``token`` of a form body (Traccar Client posts its parameters as a form)."""
    if not data or request.mimetype == "application/json" or request.query_string:
        return None
    from urllib.parse import parse_qs

    try:
        values = parse_qs(data.decode("utf-8"), errors="strict").get("token")
    except UnicodeDecodeError:
        return None
    return values[0] if values else None
