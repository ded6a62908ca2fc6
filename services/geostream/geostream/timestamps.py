"""Event-time normalisation: every accepted timestamp becomes integer epoch milliseconds (UTC).

Milliseconds are the one unit inside the platform. The unit of an input is decided exactly once, where
it enters: a source whose format fixes the unit converts explicitly (:func:`seconds_to_ms` for OwnTracks
``tst`` and OpenSky ``time_position``); a source that allows any unit calls :func:`to_epoch_ms`, which
tells epoch numbers apart by magnitude, unambiguous for any date between 1973 and 5138:
seconds < 1e11 <= milliseconds < 1e14 <= microseconds < 1e17 <= nanoseconds. What comes out is never
re-interpreted (``geostream.locations.make_point`` takes milliseconds).

:class:`TimeWindow` is the accepted range: not before a floor (default 2000-01-01, which also catches
the GPS week-rollover dates of 1999 and a zero/unset clock) and not further ahead of the receive time than
a skew (default 5 minutes: a point from the future would otherwise stay a vehicle's "latest" until real
time catches up with it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS_PER_UNIT = ((1e11, 1000.0), (1e14, 1.0), (1e17, 1e-3), (float("inf"), 1e-6))


DEFAULT_MIN_TS_MS = 946_684_800_000
"""2000-01-01T00:00:00Z: the default floor of accepted event times (INGEST_MIN_TIMESTAMP)."""
DEFAULT_MAX_FUTURE_MS = 5 * 60_000
"""How far ahead of the receive time a point may be by default (INGEST_MAX_FUTURE_S = 300)."""
MAX_TS_MS = 32_503_680_000_000
"""3000-01-01T00:00:00Z, the contract's upper bound; the future skew is always the tighter one."""


class TimestampError(ValueError):
    pass


@dataclass(frozen=True)
class TimeWindow:
    """Accepted event times: ``min_ms <= ts <= now + max_future_ms``."""

    min_ms: int = DEFAULT_MIN_TS_MS
    max_future_ms: int = DEFAULT_MAX_FUTURE_MS

    def check(self, ts_ms: int, now_ms: int) -> int:
        if ts_ms < self.min_ms:
            raise TimestampError(f"{ts_ms} ms is before {ms_to_rfc3339(self.min_ms)}, the accepted floor")
        if ts_ms > now_ms + self.max_future_ms:
            raise TimestampError(
                f"{ts_ms} ms is more than {self.max_future_ms // 1000} s in the future (INGEST_MAX_FUTURE_S)"
            )
        return ts_ms


def seconds_to_ms(value: object) -> int:
    """Epoch seconds (a format that fixes the unit, e.g. OwnTracks ``tst``) -> epoch ms."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TimestampError(f"must be epoch seconds (a number), not {type(value).__name__}")
    if not math.isfinite(value):
        raise TimestampError("must be a finite number")
    if not 0 <= value < MAX_TS_MS / 1000:
        raise TimestampError(f"{value:g} s is outside 1970..3000")
    return round(value * 1000)


def parse_min_timestamp(text: str) -> int:
    """INGEST_MIN_TIMESTAMP: an ISO 8601 date(-time) or an epoch number in any unit -> epoch ms."""
    return to_epoch_ms(text)


def epoch_to_ms(value: float) -> int:
    """Epoch seconds, ms, us or ns (int or float) -> epoch ms."""
    if not math.isfinite(value):
        raise TimestampError("must be a finite number")
    if value < 0:
        raise TimestampError("must not be before 1970-01-01")
    if value >= 1e21:  # beyond nanoseconds of year 33658: no unit makes it a date
        raise TimestampError(f"{value:g} is not an epoch time in s, ms, us or ns")
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
