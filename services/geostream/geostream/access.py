"""Token rules shared by the services that read or write on a user's behalf (pure, no I/O)."""

from __future__ import annotations

import hmac


def parse_list(spec: str) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``: the comma-separated settings (tokens, origins)."""
    return tuple(item.strip() for item in spec.split(",") if item.strip())


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_accepted(token: str | None, tokens: tuple[str, ...]) -> bool:
    """Constant-time comparison against every configured token (no early exit on the first match)."""
    if token is None:
        return False
    given = token.encode("utf-8", errors="replace")
    found = False
    for candidate in tokens:
        found |= hmac.compare_digest(given, candidate.encode("utf-8"))
    return found
