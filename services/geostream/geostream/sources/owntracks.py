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
import math
from collections.abc import Callable, Mapping
from typing import Any

from geostream.locations import DEFAULT_MAX_FUTURE_MS, PointError, is_number, make_point
from geostream.sources import Mapped, RejectError, ignored, known_or_none, parse_payload, scaled

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


def vehicle_id_from_topic(topic: str) -> str | None:
    """``owntracks/<user>/<device>[/...]`` -> ``<user>/<device>`` (the corpus convention)."""
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == "owntracks" and parts[1] and parts[2]:
        return f"{parts[1]}/{parts[2]}"
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
        headers.get("X-Limit-U")
        or query.get("u")
        or (topic_parts[1] if from_topic else None)
        or auth_user
        or RECORDER_DEFAULT_USER
    )
    device = (
        headers.get("X-Limit-D")
        or query.get("d")
        or (topic_parts[2] if from_topic else None)
        or (tid if isinstance(tid, str) else None)
        or RECORDER_DEFAULT_DEVICE
    )
    return f"{user.strip().lower()}/{device.strip().lower()}"


def map_message(
    payload: bytes | str,
    vehicle_id: Identity,
    *,
    now_ms: int,
    secret: str | None = None,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
) -> Mapped:
    """One MQTT payload or HTTP body -> its point (accept), nothing (ignore), or :class:`RejectError`.

    ``vehicle_id`` is the id, or a function of the (decrypted) message that returns it: over HTTP the
    identity may sit in the body's ``topic``, which iOS adds before encrypting.
    """
    doc = parse_payload(payload)
    if doc is None:
        return ignored("zero-length payload (clears a retained message)")
    return map_document(doc, vehicle_id, now_ms=now_ms, secret=secret, max_future_ms=max_future_ms)


def map_document(
    doc: dict[str, Any],
    vehicle_id: Identity,
    *,
    now_ms: int,
    secret: str | None = None,
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS,
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
        return map_document(inner, vehicle_id, now_ms=now_ms, max_future_ms=max_future_ms)
    if kind is None:
        raise RejectError("_type is missing: not an OwnTracks message")
    if kind != "location":
        return ignored(f"_type={kind} carries no track point")
    for name in ("lat", "lon", "tst"):
        if doc.get(name) is None:
            raise RejectError(f"_type=location without {name}")
    tst = doc["tst"]
    if not is_number(tst) or not math.isfinite(tst):
        raise RejectError(f"tst: must be epoch seconds (a number), not {type(tst).__name__}")
    try:
        point = make_point(
            vehicle_id(doc) if callable(vehicle_id) else vehicle_id,
            round(tst * 1000),
            doc["lon"],
            doc["lat"],
            source="owntracks",
            now_ms=now_ms,
            max_future_ms=max_future_ms,
            speed=scaled(known_or_none(doc.get("vel")), KMH_TO_MS),
            heading=known_or_none(doc.get("cog")),
            alt=doc.get("alt"),
            accuracy=known_or_none(doc.get("acc")),
            battery=known_or_none(doc.get("batt")),
        )
    except PointError as exc:
        raise RejectError(str(exc)) from None
    return Mapped([point])
