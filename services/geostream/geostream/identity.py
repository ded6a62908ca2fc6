"""Vehicle identity: the one normalisation every source applies to a vehicle id (pure functions).

HTTP batches, OwnTracks (MQTT and HTTP), OsmAnd, device JSON over MQTT and datasets all call
:func:`normalize_vehicle_id`, so one device has one id whichever way it reports, and every id that
passes is one PostgreSQL (``text``), Kafka (record key) and the Flink job accept:

- NFC (canonical composition), then surrounding whitespace trimmed;
- 1 to :data:`VEHICLE_ID_MAX_LEN` characters;
- letters, marks, digits, punctuation, symbols and the plain space only: no control characters (NUL,
  newline, ...), no format characters (bidi overrides, zero-width joiners), no surrogates, private-use or
  unassigned code points, no other kind of space, no U+FFFD (what a decoder put where the sender's bytes
  were not valid text);
- ``/`` separates parts (OwnTracks ``user/device``): no empty part (``a//b``, ``/a``, ``a/``);
- ``fold_case`` lower-cases (OwnTracks, like its Recorder: the app's user and device names are
  case-insensitive), so ``owntracks/Jane/Phone`` over MQTT and ``X-Limit-U: jane`` over HTTP are one id.
"""

from __future__ import annotations

import unicodedata

VEHICLE_ID_MAX_LEN = 128
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Cs": "a lone surrogate (invalid Unicode)",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


class IdentityError(ValueError):
    """The id cannot be used; ``reason`` says why, for the sender."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def refused_character(text: str) -> str | None:
    """Why ``text`` cannot be stored as text (first offending character), or None when it can."""
    for position, char in enumerate(text):
        if " " <= char <= "~":  # printable ASCII: the common case
            continue
        if char == "\ufffd":
            return f"U+FFFD at position {position}: the sender's text was not valid Unicode"
        category = unicodedata.category(char)
        what = _REFUSED_CATEGORIES.get(category) or (
            "a space other than U+0020" if category == "Zs" else None
        )
        if what:
            return f"U+{ord(char):04X} at position {position} is {what}"
    return None


def normalize_vehicle_id(value: object, *, fold_case: bool = False) -> str:
    """The canonical form of a vehicle id, or :class:`IdentityError` saying why it is refused."""
    if not isinstance(value, str):
        raise IdentityError(f"must be a string, not {_kind(value)}")
    text = value
    if len(text) > 4 * VEHICLE_ID_MAX_LEN:  # never normalise megabytes
        raise IdentityError(f"longer than {VEHICLE_ID_MAX_LEN} characters")
    try:
        text = unicodedata.normalize("NFC", text).strip()
    except UnicodeError:
        raise IdentityError("is not valid Unicode") from None
    if fold_case:
        text = text.lower()
    if not text:
        raise IdentityError("must not be empty")
    if len(text) > VEHICLE_ID_MAX_LEN:
        raise IdentityError(f"longer than {VEHICLE_ID_MAX_LEN} characters")
    problem = refused_character(text)
    if problem:
        raise IdentityError(problem)
    if "/" in text and not all(part.strip() for part in text.split("/")):
        raise IdentityError("every part between '/' must be non-empty")
    return text


def _kind(value: object) -> str:
    if value is None:
        return "null"
    kinds = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}
    return kinds.get(type(value), type(value).__name__)
