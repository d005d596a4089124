"""rexd's decisions on a clock the test controls: catch-up after downtime (once, never a
burst), a slot that comes while the job still runs (skipped), slots passed while the host
slept (one run), `after` jobs, reloads."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from rex import when
from rex.daemon.plan import Plan

UTC = timezone.utc
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2036, 1, 1), timezones=st.just(UTC))
schedules = st.sampled_from(["every 1 minutes", "every 7 minutes", "hourly at :17 in Europe/Berlin",
                             "daily at 02:30 in America/New_York", "daily at 01:30 in America/New_York",
                             "weekly on sun at 02:30 in Europe/London", "hourly at :00 in Asia/Kathmandu"])


def job(name="j", text="every 1 minutes", delay=0, after=None):
    return {"name": name, "when": when.parse(text) if text else None, "after": after, "run": "true",
            "delay": delay}


@settings(max_examples=300)
@given(schedules, moments, st.integers(0, 40 * 86400))
def test_a_missed_run_is_caught_up_once_and_never_as_a_burst(text, seen, down):
    now = seen + timedelta(seconds=down)
    w = when.parse(text)
    plan = Plan([job(text=text)], {"j": seen}, now)
    missed = w.next_after(seen) <= now
    assert plan.catch_up == (["j"] if missed else [])
    assert plan.due(now, set()) == ([], [])                 # nothing more at start-up
    assert plan.next_wake() > now
    assert plan.seen()["j"] == max(seen, w.previous(now))


@given(schedules, moments)
def test_a_job_never_seen_starts_at_its_next_slot_without_catch_up(text, now):
    plan = Plan([job(text=text)], {}, now)
    assert plan.catch_up == [] and plan.next_wake() == when.parse(text).next_after(now)


@settings(max_examples=200)
@given(schedules, moments, st.lists(st.tuples(st.integers(0, 3 * 86400), st.integers(0, 2 * 86400)),
                                    min_size=1, max_size=30))
def test_never_two_runs_at_once_and_every_passed_slot_counts_once(text, start, steps):
    """Wake-ups at any moments (a late timer, a sleeping host), runs of any length."""
    w = when.parse(text)
    plan = Plan([job(text=text)], {}, start)
    now, running_until, seen = start, None, plan.seen()["j"]
    for wait, length in steps:
        now += timedelta(seconds=wait)
        running = {"j"} if running_until and running_until > now else set()
        before = plan.entries["j"].due
        started, skipped = plan.due(now, running)
        assert len(started) + len(skipped) == (1 if before <= now else 0)
        if running:
            assert started == []
        else:
            assert skipped == []
        if started:
            running_until = now + timedelta(seconds=length)
        assert plan.entries["j"].due == w.next_after(now)      # every passed slot accounted for
        assert plan.seen()["j"] >= seen
        seen = plan.seen()["j"]


@settings(max_examples=100)
@given(st.integers(2, 30), st.integers(1, 200), moments)
def test_a_punctual_sleeper_runs_every_slot_and_skips_those_a_long_run_covers(period, length_min, start):
    """Woken at each slot; a run of `length_min` minutes makes the slots inside it skipped."""
    plan = Plan([job(text=f"every {period} minutes")], {}, start)
    running_until, actions = None, []
    for _ in range(50):
        now = plan.next_wake()
        running = {"j"} if running_until and running_until > now else set()
        started, skipped = plan.due(now, running)
        assert len(started) + len(skipped) == 1
        if started:
            running_until = now + timedelta(minutes=length_min)
        actions.append("start" if started else "skip")
    # One start, then a skip for each further slot the run covers; again and again.
    cycle = max(1, -(-length_min // period))
    assert actions == ["start" if n % cycle == 0 else "skip" for n in range(50)]


def test_random_delay_is_within_the_delay_and_after_the_slot():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    plan = Plan([job(text="hourly at :00", delay=600)], {}, now, rand=lambda: 0.5)
    assert plan.next_wake() == datetime(2026, 3, 1, 1, 5, tzinfo=UTC)
    assert plan.due(datetime(2026, 3, 1, 1, 4, tzinfo=UTC), set()) == ([], [])
    assert plan.due(datetime(2026, 3, 1, 1, 5, tzinfo=UTC), set()) == (["j"], [])


def test_after_jobs_have_no_slots_and_follow_their_job():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    plan = Plan([job("dump", "hourly at :00"), job("upload", None, after="dump"), job("b", None, after="dump")],
                {}, now)
    assert plan.followers("dump") == ["upload", "b"] and plan.followers("upload") == []
    assert plan.next_job() == ("dump", datetime(2026, 3, 1, 1, tzinfo=UTC))


def test_reload_keeps_an_unchanged_jobs_slot_and_starts_new_ones_from_now():
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    plan = Plan([job("a", "every 5 minutes"), job("c", "every 5 minutes")], {}, t0)
    later = t0 + timedelta(minutes=5)          # a's slot is due, and the reload comes first
    plan.reload([job("a", "every 5 minutes"), job("b", "every 10 minutes"), job("c", "every 7 minutes")], later)
    assert plan.catch_up == []
    every10, every7 = when.parse("every 10 minutes"), when.parse("every 7 minutes")
    assert plan.seen() == {"a": t0, "b": every10.previous(later), "c": every7.previous(later)}
    assert plan.due(later, set()) == (["a"], [])          # not lost to the reload
    assert plan.entries["c"].due == every7.next_after(later)
