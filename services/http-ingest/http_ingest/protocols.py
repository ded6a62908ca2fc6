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
  configured with ``http://host:5000`` works). Accepted requests get ``200`` with an empty body.

A 2xx means every point is in Kafka; otherwise 503 with Retry-After (both apps keep and retry the
message). Malformed requests get 400 with the service's JSON error.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import time

from flask import Blueprint, Response, request
from pydantic import SecretStr

from geostream import contracts
from geostream.kafka import ReplaceableProducer
from geostream.settings import ServiceSettings
from geostream.sources import Mapped, RejectError, osmand, owntracks
from geostream.web import error_response
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


def parse_users(spec: str) -> dict[str, str]:
    users = {}
    for entry in spec.split(","):
        name, sep, password = entry.strip().partition(":")
        if not sep or not name:
            raise ValueError("OWNTRACKS_USERS must be a comma-separated list of user:password")
        users[name] = password
    return users


def basic_auth_user(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


def protocols_blueprint(settings: Settings, kafka: ReplaceableProducer) -> Blueprint:
    extra = ProtocolSettings()
    secret = extra.owntracks_secret.get_secret_value() if extra.owntracks_secret else ""
    users_spec = extra.owntracks_users.get_secret_value().strip() if extra.owntracks_users else ""
    users = parse_users(users_spec) if users_spec else None
    if secret:
        import nacl.secret  # noqa: F401  (fail at start-up, not on the first encrypted message)
    max_future_ms = settings.ingest_max_future_s * 1000
    blueprint = Blueprint("protocols", __name__)

    def deliver(mapped: Mapped) -> Response | None:
        """None when Kafka acknowledged every point; the 503 answer otherwise."""
        if not mapped.points:
            return None
        for point in mapped.points:
            contracts.check("locations_topic", point)
        report = deliver_points(kafka, settings, mapped.points)
        return None if report.complete else unavailable(report, settings)

    def rejected(exc: RejectError, protocol: str) -> Response:
        return error_response(400, f"invalid_{protocol}_request", exc.reason)

    @blueprint.post("/pub")
    @blueprint.post("/ingest/owntracks")
    def owntracks_http() -> Response:
        auth_user = None
        if users is not None:
            credentials = basic_auth_user(request.headers.get("Authorization"))
            expected = users.get(credentials[0]) if credentials else None
            if expected is None or not hmac.compare_digest(expected.encode(), credentials[1].encode()):
                return error_response(
                    401,
                    "unauthorized",
                    "OwnTracks requests need valid Basic credentials",
                    headers={"WWW-Authenticate": 'Basic realm="geostream"'},
                )
            auth_user = credentials[0]

        def identity(doc: dict) -> str:
            vehicle_id = owntracks.http_vehicle_id(request.headers, request.args, doc, auth_user)
            if auth_user is not None and vehicle_id.split("/")[0] != auth_user.lower():
                raise IdentityMismatchError(
                    f"user {vehicle_id.split('/')[0]!r} does not match the credentials"
                )
            return vehicle_id

        try:
            mapped = owntracks.map_message(
                request.get_data(cache=False),
                identity,
                now_ms=int(time.time() * 1000),
                secret=secret,
                max_future_ms=max_future_ms,
            )
        except IdentityMismatchError as exc:
            return error_response(403, "forbidden", exc.reason)
        except RejectError as exc:
            return rejected(exc, "owntracks")
        if mapped.ignored:
            log.debug("owntracks message ignored", extra={"reason": mapped.ignored})
        return deliver(mapped) or Response(b"[]", 200, mimetype="application/json")

    @blueprint.route("/", methods=["GET", "POST"])
    @blueprint.route("/ingest/osmand", methods=["GET", "POST"])
    def osmand_protocol() -> Response:
        try:
            mapped = osmand.from_request(
                request.headers.get("Content-Type"),
                request.query_string,
                request.get_data(cache=False),
                now_ms=int(time.time() * 1000),
                max_future_ms=max_future_ms,
            )
        except RejectError as exc:
            return rejected(exc, "osmand")
        if mapped.ignored:
            log.debug("osmand request ignored", extra={"reason": mapped.ignored})
        return deliver(mapped) or Response(b"", 200)

    return blueprint
