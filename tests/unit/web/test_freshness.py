"""The freshness decision of one backup set, property by property."""

from hypothesis import given, strategies as st

from rex.web import freshness
from rex.web.freshness import FAILED, OK, STALE, STATES, UNVERIFIED, decide, expected

ages = st.none() | st.floats(-1e6, 1e9, allow_nan=False)
intervals = st.sampled_from([0.0, 3600.0, 86400.0, 7 * 86400.0]) | st.floats(0, 1e7, allow_nan=False)
factors = st.integers(1, 10)
failures = st.lists(st.text(min_size=1, max_size=20), max_size=3)


@given(ages, intervals, factors, st.booleans(), failures)
def test_the_state_is_the_worst_that_applies_and_each_reason_is_given(age, interval, factor, verified, failed):
    state, reasons = decide(age, interval, factor, verified, failed)
    assert state in STATES
    assert (state == OK) == (reasons == [])
    assert (state == FAILED) == bool(failed)
    stale = age is None or (interval > 0 and age > interval * factor)
    if not failed:
        assert (state == STALE) == stale
        if not stale:
            assert (state == UNVERIFIED) == (not verified)
    assert len(reasons) == len(failed) + stale + (age is not None and not verified)


@given(st.floats(0, 1e8, allow_nan=False), st.floats(0, 1e8, allow_nan=False), intervals, factors)
def test_an_older_newest_backup_is_never_fresher(age, more, interval, factor):
    young = decide(age, interval, factor, True)[0]
    old = decide(age + more, interval, factor, True)[0]
    assert freshness.SEVERITY[old] >= freshness.SEVERITY[young]


@given(ages, intervals, factors, st.integers(0, 10), st.booleans())
def test_a_larger_factor_or_interval_never_makes_a_set_stale(age, interval, factor, extra, verified):
    before = decide(age, interval, factor, verified)[0]
    assert freshness.SEVERITY[decide(age, interval, factor + extra, verified)[0]] <= freshness.SEVERITY[before]
    assert freshness.SEVERITY[decide(age, interval * 2, factor, verified)[0]] <= freshness.SEVERITY[before]


@given(st.floats(-1e9, 0, allow_nan=False), intervals, factors)
def test_a_backup_from_the_future_is_not_stale(age, interval, factor):
    assert decide(age, interval, factor, True) == (OK, [])


def test_at_exactly_interval_times_factor_a_set_is_still_fresh_and_one_second_later_stale():
    assert decide(2 * 86400, 86400, 2, True) == (OK, [])
    assert decide(2 * 86400 + 1, 86400, 2, True) == (STALE, ["newest backup 2d old; expected every 1d"])


def test_an_interval_of_zero_expects_nothing():
    assert decide(10 * 365 * 86400, 0, 2, True) == (OK, [])


def test_the_expected_interval_per_kind_falls_back_to_other_then_the_defaults():
    assert expected("dump") == 86400 and expected("other") == 7 * 86400
    assert expected("export", {"export": 43200.0, "other": 60.0}) == 43200
    assert expected("globals", {"other": 60.0}) == 60
    assert expected("surprise", {}) == 7 * 86400


@given(st.lists(st.sampled_from(STATES)))
def test_worst_is_the_most_severe(states):
    assert freshness.worst(states) == (max(states, key=STATES.index) if states else OK)
