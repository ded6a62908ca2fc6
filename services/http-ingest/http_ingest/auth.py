"""Who may write: API tokens (``Authorization: Bearer``) and OwnTracks Basic credentials. Pure functions.

``INGEST_TOKENS="tok1,tok2:fleet-a-"``: every token is accepted; a token followed by ``:prefix`` may only
send vehicle ids starting with that prefix (a device or a fleet of its own). Tokens are compared in
constant time. No token configured means the service is open (it logs a warning at start); compose and
``make local`` always configure one.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: every vehicle id, or those starting with ``prefix``."""

    prefix: str = ""

    def allows(self, vehicle_id: str) -> bool:
        return vehicle_id.startswith(self.prefix)


def parse_tokens(*specs: str | None) -> dict[str, Grant]:
    """``"tok1,tok2:prefix"`` (several specs are merged) -> token -> grant."""
    tokens: dict[str, Grant] = {}
    for spec in specs:
        for entry in (spec or "").split(","):
            token, _, prefix = entry.strip().partition(":")
            token = token.strip()
            if token:
                tokens[token] = Grant(prefix.strip())
    return tokens


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def grant_for(tokens: dict[str, Grant], presented: str | None) -> Grant | None:
    """The grant of ``presented``, or None. Every configured token is compared, in constant time each."""
    if not presented:
        return None
    found = None
    candidate = presented.encode("utf-8", errors="replace")
    for token, grant in tokens.items():
        if hmac.compare_digest(token.encode(), candidate):
            found = grant
    return found


def parse_users(spec: str) -> dict[str, str]:
    """OWNTRACKS_USERS ``user:password,...`` -> user -> password. User names are case-insensitive, like
    the OwnTracks ids they become (``jane/phone``)."""
    users = {}
    for entry in spec.split(","):
        name, sep, password = entry.strip().partition(":")
        if not sep or not name:
            raise ValueError("OWNTRACKS_USERS must be a comma-separated list of user:password")
        users[name.strip().lower()] = password
    return users


def basic_auth_user(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


def check_basic(users: dict[str, str], header: str | None) -> str | None:
    """The authenticated user name, or None."""
    credentials = basic_auth_user(header)
    if credentials is None:
        return None
    expected = users.get(credentials[0].strip().lower())
    if expected is None or not hmac.compare_digest(expected.encode(), credentials[1].encode()):
        return None
    return credentials[0]
