"""Retention decisions (rex.retention.policy.decide) and the link-safe removal plan.

The expected survivors below are written out by hand, from the calendar: 2025-01-01
is a Wednesday, 2026-01-01 a Thursday, so ISO week 2026-W01 starts on Monday
2025-12-29 and 2026 has 53 ISO weeks (W53 = 2026-12-28 .. 2027-01-03).
"""

import datetime
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rex.retention.policy import Entry, Policy, decide, plan_removal, policy_for

# One backup a day at noon, 2025-01-01 .. 2026-12-31 (730 backups).
DAILY = [(datetime.date(2025, 1, 1) + datetime.timedelta(days=i)).strftime("%Y%m%dT120000Z") for i in range(730)]

# Two years of irregular backups: gaps of months, several an hour, a year boundary
# inside an ISO week.
IRREGULAR = [
    "20250115T080000Z",
    "20250115T200000Z",   # Wed, 2025-W03
    "20250301T000000Z",   # Sat, 2025-W09
    "20250630T235959Z",   # Mon, 2025-W27
    "20250701T000000Z",   # Tue, 2025-W27
    "20251228T100000Z",   # Sun, 2025-W52
    "20251229T090000Z",   # Mon, 2026-W01 (still 2025)
    "20251231T230000Z",   # Wed, 2026-W01, the newest of 2025
    "20260101T010000Z",   # Thu, 2026-W01
    "20260102T120000Z",   # Fri, 2026-W01
    "20260301T060000Z",   # Sun, 2026-W09
    "20260302T060000Z",   # Mon, 2026-W10
    "20261110T090000Z",   # Tue, 2026-W46
    "20261110T093000Z",
    "20261110T094500Z",
    "20261110T100000Z",
    "20261112T100000Z",   # Thu, 2026-W46
    "20261116T080000Z",   # Mon, 2026-W47
    "20261116T081500Z",
]


def survivors(stamps, policy, verified=None):
    return sorted(d.stamp for d in decide(stamps, policy, verified) if d.keep)


def reasons(stamps, policy, verified=None):
    return {d.stamp: d.reason for d in decide(stamps, policy, verified)}


def day(text):
    return text.replace("-", "") + "T120000Z"


# --- exact tables -------------------------------------------------------------------------------

def test_daily_set_restic_like_policy():
    policy = Policy(keep_daily=7, keep_weekly=4, keep_monthly=12, keep_yearly=2)
    assert survivors(DAILY, policy) == [day(d) for d in [
        "2025-12-31",                                                       # yearly 2025
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30",
        "2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30",   # monthly
        "2026-12-13", "2026-12-20",                                         # weekly W50, W51
        "2026-12-25", "2026-12-26", "2026-12-27", "2026-12-28", "2026-12-29", "2026-12-30",
        "2026-12-31",                                                       # daily (and more)
    ]]
    why = reasons(DAILY, policy)
    assert why[day("2026-12-31")] == ("kept: newest, daily 2026-12-31, weekly 2026-W53, monthly 2026-12, "
                                      "yearly 2026")
    assert why[day("2026-12-27")] == "kept: daily 2026-12-27, weekly 2026-W52"
    assert why[day("2026-12-13")] == "kept: weekly 2026-W50"
    assert why[day("2026-02-28")] == "kept: monthly 2026-02"
    assert why[day("2025-12-31")] == "kept: yearly 2025"
    assert why[day("2026-12-24")] == "removed: no rule keeps it"


def test_daily_set_last_and_weekly_with_zeros_meaning_none():
    policy = Policy(keep_last=3, keep_hourly=0, keep_daily=0, keep_weekly=2, keep_monthly=0, keep_yearly=0)
    assert survivors(DAILY, policy) == [day(d) for d in ["2026-12-27", "2026-12-29", "2026-12-30", "2026-12-31"]]
    assert reasons(DAILY, policy)[day("2026-12-29")] == "kept: last #3"


def test_keep_within_counts_back_from_the_newest_backup_and_excludes_the_boundary():
    # newest 2026-12-31 12:00; 2026-12-21 12:00 is exactly 10 days older: not within.
    policy = Policy(keep_within=10 * 86400)
    assert survivors(DAILY, policy) == [day(f"2026-12-{d}") for d in range(22, 32)]
    assert reasons(DAILY, policy)[day("2026-12-22")] == "kept: within 10d"
    # A set whose backups stopped long ago keeps its last ten days all the same.
    assert survivors(DAILY[:31], policy) == [day(f"2025-01-{d:02d}") for d in range(22, 32)]


def test_more_periods_asked_than_exist_keeps_what_there_is():
    policy = Policy(keep_monthly=3, keep_yearly=5)
    assert survivors(DAILY, policy) == [day(d) for d in ["2025-12-31", "2026-10-31", "2026-11-30", "2026-12-31"]]


def test_irregular_set_every_period():
    policy = Policy(keep_hourly=3, keep_daily=3, keep_weekly=3, keep_monthly=3, keep_yearly=3)
    assert survivors(IRREGULAR, policy) == [
        "20251231T230000Z",    # yearly 2025
        "20260102T120000Z",    # monthly 2026-01
        "20260302T060000Z",    # weekly 2026-W10, monthly 2026-03
        "20261110T100000Z",    # hourly, daily
        "20261112T100000Z",    # hourly, daily, weekly 2026-W46
        "20261116T081500Z",    # newest
    ]
    why = reasons(IRREGULAR, policy)
    assert why["20261112T100000Z"] == "kept: hourly 2026-11-12T10, daily 2026-11-12, weekly 2026-W46"
    assert why["20261110T100000Z"] == "kept: hourly 2026-11-10T10, daily 2026-11-10"
    assert why["20261116T080000Z"] == "removed: no rule keeps it"


def test_irregular_set_missed_weeks_do_not_use_up_weekly_slots():
    assert survivors(IRREGULAR, Policy(keep_weekly=10)) == [
        "20250115T200000Z",    # 2025-W03
        "20250301T000000Z",    # 2025-W09
        "20250701T000000Z",    # 2025-W27
        "20251228T100000Z",    # 2025-W52
        "20260102T120000Z",    # 2026-W01, which began on 2025-12-29
        "20260301T060000Z",    # 2026-W09
        "20260302T060000Z",    # 2026-W10
        "20261112T100000Z",    # 2026-W46
        "20261116T081500Z",    # 2026-W47
    ]
    why = reasons(IRREGULAR, Policy(keep_weekly=10))
    assert why["20260102T120000Z"] == "kept: weekly 2026-W01"
    assert why["20251231T230000Z"] == "removed: no rule keeps it"
    assert survivors(IRREGULAR, Policy(keep_monthly=4)) == [
        "20251231T230000Z", "20260102T120000Z", "20260302T060000Z", "20261116T081500Z"]


def test_several_backups_in_one_hour_only_the_newest_counts():
    assert survivors(IRREGULAR, Policy(keep_hourly=2)) == ["20261112T100000Z", "20261116T081500Z"]


def test_newest_verified_and_everything_newer_is_protected():
    # The last four runs did not verify: they and the newest verified one all stay.
    assert survivors(IRREGULAR, Policy(keep_last=1), verified="20261110T094500Z") == [
        "20261110T094500Z", "20261110T100000Z", "20261112T100000Z", "20261116T080000Z", "20261116T081500Z"]
    why = reasons(IRREGULAR, Policy(keep_last=1), verified="20261110T094500Z")
    assert why["20261110T094500Z"] == "kept: newest verified"
    assert why["20261112T100000Z"] == "kept: newer than the newest verified"
    assert why["20261116T081500Z"] == "kept: newest, newer than the newest verified, last #1"


def test_empty_policy_keeps_only_what_is_protected():
    assert Policy().empty and Policy(keep_last=0, keep_daily=0, keep_within=0).empty
    assert not Policy(keep_yearly=1).empty
    assert survivors(IRREGULAR, Policy()) == ["20261116T081500Z"]
    assert survivors(IRREGULAR, Policy(), verified="20251231T230000Z") == sorted(IRREGULAR)[7:]


def test_order_of_input_is_kept_and_bad_input_refused():
    shuffled = IRREGULAR[::-1]
    assert [d.stamp for d in decide(shuffled, Policy(keep_last=2))] == shuffled
    assert decide([], Policy(keep_last=1)) == []
    with pytest.raises(ValueError):
        decide(["20261301T000000Z"], Policy(keep_last=1))
    with pytest.raises(ValueError):
        decide(["20260101T000000Z", "20260101T000000Z"], Policy(keep_last=1))
    with pytest.raises(ValueError):
        Policy(keep_daily=-1)


def test_policy_for_first_match_wins_and_a_policy_is_whole():
    rules = [{"match": ["*.backup"], "keep_daily": 30},
             {"match": ["/srv/*/Films/*"], "keep_last": 5},
             {"match": ["*"], "keep_last": 2, "keep_within": 3600.0}]
    default = Policy(keep_last=9)
    assert policy_for("/srv/db/Resolve Projects.backup", rules, default) == Policy(keep_daily=30)
    assert policy_for("/srv/x/Films/Ad.drp", rules, default) == Policy(keep_last=5)
    assert policy_for("/srv/x/Ads/Ad.drp", rules, default) == Policy(keep_last=2, keep_within=3600.0)
    assert policy_for("/srv/x/Ads/Ad.drp", rules[:1], default) == default
    assert policy_for("/srv/x/Ads/Ad.drp", [], None) is None


# --- properties ---------------------------------------------------------------------------------

START = datetime.datetime(2024, 12, 1)
stamps_strategy = st.lists(st.integers(0, 2 * 366 * 24 * 60), min_size=1, max_size=60, unique=True).map(
    lambda minutes: [(START + datetime.timedelta(minutes=m * 15)).strftime("%Y%m%dT%H%M%SZ") for m in minutes])
counts = st.integers(0, 6)
policies = st.builds(Policy, keep_last=counts, keep_hourly=counts, keep_daily=counts, keep_weekly=counts,
                     keep_monthly=counts, keep_yearly=counts,
                     keep_within=st.one_of(st.none(), st.integers(0, 90 * 86400).map(float)))


@st.composite
def cases(draw):
    stamps = draw(stamps_strategy)
    verified = draw(st.one_of(st.none(), st.sampled_from(stamps)))
    return stamps, draw(policies), verified


@settings(max_examples=300, deadline=None)
@given(cases())
def test_newest_and_newest_verified_are_always_kept(case):
    stamps, policy, verified = case
    kept = survivors(stamps, policy, verified)
    assert max(stamps) in kept
    if verified is not None:
        assert verified in kept
        assert all(s in kept for s in stamps if s > verified)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_a_set_with_no_verified_backup_keeps_everything_unless_allowed(case):
    from rex.retention.policy import HELD

    stamps, policy, verified = case
    held = decide(stamps, policy, verified, unverified_ok=False)
    if verified is None:
        assert all(d.keep for d in held)
        free = decide(stamps, policy, verified)
        assert [d.stamp for d in held if HELD in d.reasons] == [d.stamp for d in free if not d.keep]
    else:
        assert held == decide(stamps, policy, verified)


@settings(max_examples=300, deadline=None)
@given(cases(), st.sampled_from(["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
                                 "keep_yearly", "keep_within"]), st.integers(1, 5))
def test_keeping_is_monotonic_in_every_count(case, key, more):
    stamps, policy, verified = case
    values = {k: getattr(policy, k) for k in ("keep_last", "keep_hourly", "keep_daily", "keep_weekly",
                                               "keep_monthly", "keep_yearly", "keep_within")}
    values[key] = (values[key] or 0) + (more * 86400.0 if key == "keep_within" else more)
    assert set(survivors(stamps, policy, verified)) <= set(survivors(stamps, Policy(**values), verified))


@settings(max_examples=300, deadline=None)
@given(cases())
def test_pruning_the_survivors_again_removes_nothing(case):
    stamps, policy, verified = case
    kept = survivors(stamps, policy, verified)
    assert survivors(kept, policy, verified if verified in kept else None) == kept


@settings(max_examples=300, deadline=None)
@given(cases())
def test_exactly_one_per_period_and_at_most_the_count(case):
    stamps, policy, _verified = case
    from rex.retention.policy import PERIODS, period

    for rule in PERIODS:
        chosen = [d.stamp for d in decide(stamps, policy) if any(r.startswith(rule + " ") for r in d.reasons)]
        labels = [period(rule, s) for s in chosen]
        assert len(labels) == len(set(labels)) <= getattr(policy, f"keep_{rule}")
        for s in chosen:   # each is the newest of its period
            assert s == max(t for t in stamps if period(rule, t) == period(rule, s))


# --- the removal plan ---------------------------------------------------------------------------

D = "/b/P"


def p(n):
    return f"{D}/P_2026010{n}T000000Z.drp"


def test_plan_moves_a_removed_file_over_the_newest_kept_link():
    entries = [Entry(p(1)), Entry(p(2), "P_20260101T000000Z.drp"), Entry(p(3), "P_20260101T000000Z.drp"),
               Entry(p(4), "P_20260101T000000Z.drp"), Entry(p(5))]
    plan = plan_removal(entries, [p(1), p(2)])
    assert plan.moves == [(p(1), p(4))]
    assert plan.repoint == [(p(3), p(4))]          # p(4) points straight at the file already
    assert plan.delete_links == [p(2)] and plan.delete_files == []
    assert plan.needs == {p(1): [p(3)]}
    assert plan.removed == [p(2), p(1)]


def test_plan_plain_removals_and_chains():
    entries = [Entry(p(1)), Entry(p(2), "P_20260101T000000Z.drp"), Entry(p(3), "P_20260102T000000Z.drp"),
               Entry(p(4)), Entry(p(5), "/elsewhere/x.drp")]
    # p(3) goes through the link p(2) to p(1): p(2) goes, so p(3) is pointed at p(1) first.
    plan = plan_removal(entries, [p(2), p(4), p(5)])
    assert plan.repoint == [(p(3), p(1))]
    assert plan.needs == {p(2): [p(3)]}
    assert plan.delete_links == [p(2), p(5)] and plan.delete_files == [p(4)] and plan.moves == []
    # Nothing removed, nothing to do; hard links (plain entries) need nothing.
    assert plan_removal(entries, []).removed == []
    with pytest.raises(ValueError):
        plan_removal(entries, ["/b/P/other.drp"])


def test_plan_links_outside_the_set_are_left_alone():
    entries = [Entry(p(1), "../Q/Q_20260101T000000Z.drp"), Entry(p(2), "../Q/Q_20260101T000000Z.drp")]
    plan = plan_removal(entries, [p(1)])
    assert plan.repoint == [] and plan.moves == [] and plan.delete_links == [p(1)]
    assert os.path.basename(plan.removed[0]) == "P_20260101T000000Z.drp"


def test_the_policy_has_one_field_per_retention_key_of_the_schema():
    """config.schema.RETENTION is the one list: Policy, policies' keys and rex-prune's options follow it."""
    import dataclasses

    from rex.config.schema import RETENTION_KEYS
    from rex.config.types import POLICY_KEYS
    from rex.retention.policy import Policy

    assert {f.name for f in dataclasses.fields(Policy)} == set(RETENTION_KEYS)
    assert POLICY_KEYS == ("match", *RETENTION_KEYS)
