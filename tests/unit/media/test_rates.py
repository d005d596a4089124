"""rex.media.rates: frame rates as ffprobe, Resolve and people write them, and when two match."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex.media.rates import any_rate_matches, parse_rate, rate_matches

NTSC = [24, 30, 48, 60, 120]


@given(st.sampled_from(NTSC), st.sampled_from([2, 3]))
def test_ntsc_rates_match_their_decimal_forms_not_the_integer(n, places):
    exact = Fraction(n * 1000, 1001)
    decimal = round(float(exact), places)
    assert rate_matches(exact, decimal) and rate_matches(str(decimal), f"{n * 1000}/1001")
    assert not rate_matches(exact, n) and not rate_matches(decimal, n)


@given(st.fractions(min_value=1, max_value=300), st.fractions(min_value=1, max_value=300))
def test_rate_matching_is_symmetric_and_reflexive(a, b):
    assert rate_matches(a, a)
    assert rate_matches(a, b) == rate_matches(b, a)


@pytest.mark.parametrize("text, value", [("23.976", 23.976), ("24000/1001", 24000 / 1001), ("25 fps", 25.0),
                                         (59.94, 59.94), ("30p", 30.0), ("0", None), ("x", None),
                                         ("1/0", None), (None, None), (True, None), ("nan", None)])
def test_parse_rate(text, value):
    assert parse_rate(text) == (pytest.approx(value) if value else None)


def test_any_rate_empty_means_any():
    assert any_rate_matches(None, []) and any_rate_matches(25, ["29.97", "25"])
    assert not any_rate_matches(None, ["25"])
