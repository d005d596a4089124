"""rex.durations: durations as people write them."""

import math
import re

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
    (0, "0s"), (59, "59s"), (60, "1m"), (90, "1m30s"), (3600, "1h"), (5400, "1h30m"), (86400, "1d"),
    (604800, "1w"), (1209600, "2w"), (172800, "2d"), (30 * 86400, "30d"), (8 * 86400, "8d"),
    (86401, "1d1s"), (365 * 86400, "1y"), (60.0, "1m"), (2.5, "2.5s"), (1e-05, "0.00001s"),
])
def test_format_duration_examples(seconds, text):
    assert format_duration(seconds) == text


_CANONICAL = re.compile(r"0s|\d+[yw]|(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?")


@given(st.integers(min_value=0, max_value=10 ** 12))
def test_format_then_parse_round_trip(seconds):
    """Whole seconds read back exactly, in the syntax the configuration accepts, each part
    below the size of the unit above it (1h30m, never 90m; 30d, never 4w2d)."""
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    assert _CANONICAL.fullmatch(text), text
    parts = re.findall(r"(\d+)([dhms])", text)
    above = {"h": 24, "m": 60, "s": 60}
    assert all(int(n) < above[u] for n, u in parts if u in above), text
    if text[-1] in "dhms" and seconds:
        assert seconds % UNITS["w"] and seconds % UNITS["y"]


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_format_then_parse_round_trip_for_fractions(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.lists(st.tuples(st.integers(0, 10 ** 6), st.sampled_from("smhdwySMHDWY")), min_size=1, max_size=6))
def test_parse_sums_the_parts(parts):
    text = "".join(f"{n}{u}" for n, u in parts)
    assert parse_duration(text) == sum(n * UNITS[u.lower()] for n, u in parts)


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_numbers_are_seconds(value):
    assert parse_duration(value) == value
    assert math.isclose(parse_duration(repr(value)), value)
