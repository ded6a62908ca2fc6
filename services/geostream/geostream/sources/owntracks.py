"""OwnTracks JSON (https://owntracks.org/booklet/tech/json/), as the apps publish it over MQTT or POST it
in HTTP mode, to location points.

Only ``_type: "location"`` is a track point. ``tst`` is the fix time in epoch seconds, ``vel`` is km/h,
``cog`` degrees, ``alt`` metres, ``acc`` metres, ``batt`` percent; the apps leave out fields they do not
know (and iOS writes -1), so absent or negative means unknown. Every other ``_type`` (lwt, transition,
waypoint, card, status, cmd, ...) and zero-length payloads (a retained-message clear) are ignored.
``_type: "encrypted"`` payloads are libsodium secretboxes (booklet, features/encrypt): decrypted when a
secret is configured, ignored otherwise.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from geostream.identity import IdentityError, normalize_vehicle_id
from geostream.locations import DEFAULT_MAX_FUTURE_MS, DEFAULT_MIN_TS_MS, PointError, make_point
from geostream.sources import Mapped, RejectError, ignored, known_or_none, parse_payload, scaled
from geostream.timestamps import TimestampError, seconds_to_ms

KMH_TO_MS = 1 / 3.6
NONCE_BYTES = 24
KEY_BYTES = 32
RECORDER_DEFAULT_USER = "owntracks"
RECORDER_DEFAULT_DEVICE = "phone"

Identity = str | Callable[[dict[str, Any]], str]


def secret_key(secret: str) -> bytes:
    """The booklet's key derivation: the secret's UTF-8 bytes, NUL-padded (or cut) to 32 bytes."""
    return secret.encode("utf-8")[:KEY_BYTES].ljust(KEY_BYTES, b"\0")


def decrypt(data: str, secret: str) -> bytes:
    """``data`` = base64(24-byte nonce || crypto_secretbox_easy output) -> the cleartext JSON bytes."""
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RejectError("encrypted data is not base64") from None
    if len(blob) <= NONCE_BYTES + SecretBox.MACBYTES:
        raise RejectError("encrypted data is too short")
    try:
        return SecretBox(secret_key(secret)).decrypt(blob[NONCE_BYTES:], blob[:NONCE_BYTES])
    except CryptoError:
        raise RejectError("encrypted payload does not decrypt with the configured secret") from None


def encrypt(plaintext: bytes, secret: str, nonce: bytes) -> str:
    """The inverse of :func:`decrypt` (what the apps do); the caller supplies a fresh random nonce."""
    from nacl.secret import SecretBox

    return base64.b64encode(
        nonce + SecretBox(secret_key(secret)).encrypt(plaintext, nonce).ciphertext
    ).decode()


def make_vehicle_id(user: str, device: str) -> str:
    """``<user>/<device>``, lower-cased like the OwnTracks Recorder, identical over MQTT and HTTP;
    :class:`RejectError` when the result is not a usable id (geostream.identity)."""
    try:
        return normalize_vehicle_id(f"{user.strip()}/{device.strip()}", fold_case=True)
    except IdentityError as exc:
        raise RejectError(f"vehicle id {user[:40]!r}/{device[:40]!r}: {exc.reason}") from None


def vehicle_id_from_topic(topic: str) -> str | None:
    """``owntracks/<user>/<device>[/...]`` -> ``<user>/<device>`` (the corpus convention), normalised
    by :func:`make_vehicle_id`; None when the topic names no device."""
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == "owntracks" and parts[1].strip() and parts[2].strip():
        return make_vehicle_id(parts[1], parts[2])
    return None


def http_vehicle_id(
    headers: Mapping[str, str],
    query: Mapping[str, str],
    doc: Mapping[str, Any],
    auth_user: str | None = None,
) -> str:
    """Identity of an HTTP-mode POST: ``<user>/<device>``, lower-cased like the OwnTracks Recorder.

    The user comes from ``X-Limit-U``, else ``?u=``, else the body's ``topic`` (``owntracks/<u>/<d>``),
    else the Basic-auth user name; the device from ``X-Limit-D``, else ``?d=``, else the topic, else
    ``tid``. The Recorder's defaults (``owntracks``/``phone``) fill what is still missing.
    """
    topic = doc.get("topic")
    topic_parts = topic.split("/") if isinstance(topic, str) else []
    from_topic = len(topic_parts) >= 3 and topic_parts[0] == "owntracks"
    tid = doc.get("tid")
    user = (
        _text(headers.get("X-Limit-U"))
        or _text(query.get("u"))
        or (_text(topic_parts[1]) if from_topic else None)
        or _text(auth_user)
        or RECORDER_DEFAULT_USER
    )
    device = (
        _text(headers.get("X-Limit-D"))
        or _text(query.get("d"))
        or (_text(topic_parts[2]) if from_topic else None)
        or _text(tid)
        or RECORDER_DEFAULT_DEVICE
    )
    return make_vehicle_id(user, device)


def _text(value: object) -> str | None:
    """A non-blank string, else None (so that the next identity source is tried)."""
    return value if isinstance(value, str) and value.strip() else None


def map_message(
    payload: bytes | str,
    vehicle_id: Identity,
    *,
    now_ms: int,
    secret: str | None = None,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> Mapped:
    """One MQTT payload or HTTP body -> its point (accept), nothing (ignore), or :class:`RejectError`.

    ``vehicle_id`` is the id, or a function of the (decrypted) message that returns it: over HTTP the
    identity may sit in the body's ``topic``, which iOS adds before encrypting.
    """
    doc = parse_payload(payload)
    if doc is None:
        return ignored("zero-length payload (clears a retained message)")
    return map_document(
        doc, vehicle_id, now_ms=now_ms, secret=secret, max_future_ms=max_future_ms, min_ts_ms=min_ts_ms
    )


def map_document(
    doc: dict[str, Any],
    vehicle_id: Identity,
    *,
    now_ms: int,
    secret: str | None = None,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
    min_ts_ms: int = DEFAULT_MIN_TS_MS,
) -> Mapped:
    kind = doc.get("_type")
    if kind == "encrypted":
        if not secret:
            return ignored("_type=encrypted and no secret configured")
        data = doc.get("data")
        if not isinstance(data, str):
            raise RejectError("_type=encrypted without a data string")
        inner = parse_payload(decrypt(data, secret))
        if inner is None:
            return ignored("encrypted payload is empty")
        if inner.get("_type") == "encrypted":
            raise RejectError("encrypted payload contains another encrypted payload")
        return map_document(
            inner, vehicle_id, now_ms=now_ms, max_future_ms=max_future_ms, min_ts_ms=min_ts_ms
        )
    if kind is None:
        raise RejectError("_type is missing: not an OwnTracks message")
    if not isinstance(kind, str):
        raise RejectError(f"_type: must be a string, not {type(kind).__name__}")
    if kind != "location":
        return ignored(f"_type={kind} carries no track point")
    for name in ("lat", "lon", "tst"):
        if doc.get(name) is None:
            raise RejectError(f"_type=location without {name}")
    try:
        ts_ms = seconds_to_ms(doc["tst"])
    except TimestampError as exc:
        raise RejectError(f"tst: {exc}") from None
    try:
        point = make_point(
            vehicle_id(doc) if callable(vehicle_id) else vehicle_id,
            ts_ms,
            doc["lon"],
            doc["lat"],
            source="owntracks",
            now_ms=now_ms,
            max_future_ms=max_future_ms,
            min_ts_ms=min_ts_ms,
            fold_case=True,
            speed=scaled(known_or_none(doc.get("vel")), KMH_TO_MS),
            heading=known_or_none(doc.get("cog")),
            alt=doc.get("alt"),
            accuracy=known_or_none(doc.get("acc")),
            battery=known_or_none(doc.get("batt")),
        )
    except PointError as exc:
        raise RejectError(f"{WIRE_NAMES.get(exc.field, exc.field)}: {exc.reason}") from None
    return Mapped([point])


WIRE_NAMES = {"speed": "vel", "heading": "cog", "accuracy": "acc", "battery": "batt", "ts": "tst"}
"""Contract field -> the OwnTracks member it came from, for error messages."""
