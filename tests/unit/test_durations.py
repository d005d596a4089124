"""rex.durations: durations as people write them."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex.durations import UNITS, format_duration, parse_duration


@pytest.mark.parametrize("text,seconds", [
    ("90", 90), ("0", 0), ("2.5", 2.5), ("45s", 45), ("10m", 600), ("1h30m", 5400),
    ("1h 30m", 5400), ("1H30M", 5400), ("7d", 7 * 86400), ("2w", 14 * 86400), ("1y", 365 * 86400),
    ("1.5h", 5400), ("1d12h", 129600), (" 6h ", 21600), ("0s", 0), ("1m1s", 61),
    (90, 90), (2.5, 2.5), (0, 0),
])
def test_parse_duration_examples(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "", "   ", "h", "1x", "1h30", "30 minutes", "-5", "-1h", "1h-30m", "1..5h", "s1", "1hh",
    "nan", "inf", "Infinity", "-inf", -1, -0.5, float("nan"), float("inf"), True, False, None, "0x10",
])
def test_parse_duration_errors(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_parse_duration_messages_help():
    with pytest.raises(ValueError, match="1h30m"):
        parse_duration("soon")
    with pytest.raises(ValueError, match="negative"):
        parse_duration(-3)


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (59, "59s"), (60, "1m"), (90, "90s"), (3600, "1h"), (5400, "90m"), (86400, "1d"),
    (604800, "1w"), (1209600, "2w"), (172800, "2d"),
])
def test_format_duration_examples(seconds, text):
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10 ** 12))
def test_format_then_parse_round_trip(seconds):
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    # The largest unit that divides evenly is used.
    unit = text[-1]
    if unit != "w" and seconds:
        bigger = [u for u in ("w", "d", "h", "m") if UNITS[u] > UNITS[unit]]
        assert all(seconds % UNITS[u] for u in bigger)


@given(st.lists(st.tuples(st.integers(0, 10 ** 6), st.sampled_from("smhdwySMHDWY")), min_size=1, max_size=6))
def test_parse_sums_the_parts(parts):
    text = "".join(f"{n}{u}" for n, u in parts)
    assert parse_duration(text) == sum(n * UNITS[u.lower()] for n, u in parts)


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_numbers_are_seconds(value):
    assert parse_duration(value) == value
    assert math.isclose(parse_duration(repr(value)), value)
