"""Event-time normalisation: every accepted timestamp becomes integer epoch milliseconds (UTC).

Epoch numbers are told apart by magnitude, which is unambiguous for any date between 1973 and 5138:
seconds < 1e11 <= milliseconds < 1e14 <= microseconds < 1e17 <= nanoseconds.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS_PER_UNIT = ((1e11, 1000.0), (1e14, 1.0), (1e17, 1e-3), (float("inf"), 1e-6))


class TimestampError(ValueError):
    pass


def epoch_to_ms(value: float) -> int:
    """Epoch seconds, ms, us or ns (int or float) -> epoch ms."""
    if not math.isfinite(value):
        raise TimestampError("must be a finite number")
    if value < 0:
        raise TimestampError("must not be before 1970-01-01")
    for upper, factor in _MS_PER_UNIT:
        if value < upper:
            return round(value * factor)
    raise AssertionError("unreachable")


def iso_to_ms(text: str) -> int:
    """ISO 8601 / RFC 3339 date-time -> epoch ms; a time without an offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimestampError(f"not an ISO 8601 date-time: {text[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - EPOCH  # integer arithmetic: floats lose milliseconds far from 1970
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if micros < 0:
        raise TimestampError("must not be before 1970-01-01")
    return (micros + 500) // 1000


def to_epoch_ms(value: object) -> int:
    """Any supported timestamp (epoch number in s/ms/us/ns, digit string, ISO 8601 string) -> epoch ms."""
    if isinstance(value, bool):
        raise TimestampError("must be a number or an ISO 8601 string, not a boolean")
    if isinstance(value, int | float):
        return epoch_to_ms(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise TimestampError("must not be empty")
        try:
            number = float(text)
        except ValueError:
            return iso_to_ms(text)
        return epoch_to_ms(number)
    raise TimestampError(f"must be a number or an ISO 8601 string, not {type(value).__name__}")


def ms_to_rfc3339(ms: int) -> str:
    """Epoch ms -> ``2025-09-26T14:05:00.123Z`` (UTC, millisecond precision)."""
    return (EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
