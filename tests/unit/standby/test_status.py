"""The Nagios verdict on a status record (standby/status.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex.standby.status import (CRITICAL, OK, UNKNOWN, WARNING, Thresholds, parse_size, parse_thresholds,
                                verdict)

WARN, CRIT = Thresholds(16 << 20, 300), Thresholds(256 << 20, 600)
small = st.integers(0, (16 << 20) - 1)
seconds = st.one_of(st.none(), st.floats(0, 299))


def streaming(**extra):
    return dict({"side": "primary", "slot": "s", "slot_exists": True, "connected": True, "wal_status": "reserved",
                 "replay_lag_bytes": 0, "retained_bytes": 0, "replay_lag_seconds": None,
                 "last_report_seconds": 1.0}, **extra)


@given(lag=small, retained=small, secs=seconds)
def test_streaming_within_the_thresholds_is_ok(lag, retained, secs):
    assert verdict(streaming(replay_lag_bytes=lag, retained_bytes=retained, replay_lag_seconds=secs),
                   WARN, CRIT) == (OK, [])


@given(record=st.fixed_dictionaries({}, optional={
    "connected": st.booleans(), "replay_lag_bytes": st.one_of(st.none(), st.integers(0, 1 << 40)),
    "retained_bytes": st.one_of(st.none(), st.integers(0, 1 << 40)),
    "replay_lag_seconds": st.one_of(st.none(), st.floats(0, 1e6)), "in_recovery": st.booleans(),
    "side": st.sampled_from(["primary", "standby"]), "slot_exists": st.booleans()}))
def test_lost_wal_is_never_better_than_critical(record):
    code, reasons = verdict(dict(record, wal_status="lost"), WARN, CRIT)
    assert code in (CRITICAL, UNKNOWN) and (code == UNKNOWN or any("lost" in r for r in reasons))


def test_lost_wal_on_a_streaming_standby_is_critical():
    assert verdict(streaming(wal_status="lost"), WARN, CRIT)[0] == CRITICAL


@given(age=st.floats(0, 1e7))
def test_an_idle_primarys_replay_age_is_not_lag(age):
    record = {"side": "standby", "in_recovery": True, "connected": True, "replay_lag_bytes": 0,
              "replay_pending": False, "replay_age_seconds": age, "last_report_seconds": 2.0}
    assert verdict(record, WARN, CRIT) == (OK, [])


@given(age=st.floats(600, 1e7))
def test_replay_age_counts_while_received_wal_waits(age):
    record = {"side": "standby", "in_recovery": True, "connected": True, "replay_lag_bytes": 10,
              "replay_pending": True, "replay_age_seconds": age, "last_report_seconds": 2.0}
    assert verdict(record, WARN, CRIT)[0] == CRITICAL


@given(size=st.integers(0, 1 << 34))
def test_retained_wal_of_a_stopped_standby_follows_the_thresholds(size):
    code, _ = verdict(streaming(connected=False, replay_lag_bytes=None, retained_bytes=size), WARN, CRIT)
    expected = CRITICAL if size >= CRIT.bytes else WARNING
    assert code == expected


@given(a=st.integers(0, 1 << 34), b=st.integers(0, 1 << 34))
def test_more_bytes_behind_is_never_better(a, b):
    lo, hi = sorted((a, b))
    assert verdict(streaming(replay_lag_bytes=lo), WARN, CRIT)[0] <= verdict(streaming(replay_lag_bytes=hi),
                                                                              WARN, CRIT)[0]


def test_a_standby_out_of_recovery_is_critical_and_nothing_known_unknown():
    assert verdict({"side": "standby", "in_recovery": False, "connected": False}, WARN, CRIT)[0] == CRITICAL
    assert verdict({"side": "primary", "slot": "s", "slot_exists": False, "connected": False}, WARN, CRIT)[0] \
        == UNKNOWN


@pytest.mark.parametrize("text, expected", [("16MB", 16 << 20), ("1GB", 1 << 30), ("512kB", 512 << 10),
                                            ("4096B", 4096), ("1.5MiB", 3 << 19)])
def test_sizes(text, expected):
    assert parse_size(text) == expected


def test_thresholds_keep_the_default_of_the_part_left_out():
    assert parse_thresholds("1MB", WARN) == Thresholds(1 << 20, 300)
    assert parse_thresholds("10m", WARN) == Thresholds(16 << 20, 600)
    assert parse_thresholds("2GB,45s", WARN) == Thresholds(2 << 30, 45)
    with pytest.raises(ValueError):
        parse_thresholds("lots", WARN)
