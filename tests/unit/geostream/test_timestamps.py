from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geostream.timestamps import TimestampError, ms_to_rfc3339, to_epoch_ms

# 1973-03-03 .. 5138: where epoch units are told apart by magnitude.
MS = st.integers(min_value=100_000_000_000, max_value=99_999_999_999_999)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1693564800, 1693564800000),
        (1693564800.5, 1693564800500),
        (1693564800123, 1693564800123),
        (1693564800123456, 1693564800123),
        (1693564800123456789, 1693564800123),
        ("1693564800", 1693564800000),
        ("2023-09-01T10:40:00Z", 1693564800000),
        ("2023-09-01T12:40:00+02:00", 1693564800000),
        ("2023-09-01T10:40:00.250", 1693564800250),
        ("2023-09-01 10:40:00", 1693564800000),
    ],
)
def test_units_and_formats(value, expected):
    assert to_epoch_ms(value) == expected


@pytest.mark.parametrize("value", [True, None, [], {}, "", "yesterday", float("nan"), float("inf"), -1, "-5"])
def test_rejects(value):
    with pytest.raises(TimestampError):
        to_epoch_ms(value)


@given(MS)
def test_every_unit_of_the_same_instant_gives_the_same_ms(ms):
    assert to_epoch_ms(ms) == ms
    assert to_epoch_ms(ms * 1000) == ms
    assert to_epoch_ms(ms * 1_000_000) == ms
    assert to_epoch_ms(ms // 1000) == (ms // 1000) * 1000


@given(MS)
def test_rfc3339_round_trip(ms):
    text = ms_to_rfc3339(ms)
    assert text.endswith("Z")
    assert to_epoch_ms(text) == ms
    assert datetime.fromisoformat(text).tzinfo == UTC
