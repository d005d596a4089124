"""The `when` grammar and the next run, against a clock the test controls: every answer is
checked against a brute-force walk of the zone's clock, minute by minute, over zones
with daylight saving time, half-hour offsets and 30-minute DST shifts."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings, strategies as st

from rex import when

UTC = timezone.utc
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe",
         "Asia/Kolkata", "Asia/Kathmandu", "America/Sao_Paulo", "America/St_Johns", "Pacific/Chatham"]

moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2037, 12, 1),
                       timezones=st.just(UTC))
hours, minutes = st.integers(0, 23), st.integers(0, 59)


@st.composite
def schedules(draw):
    zone = draw(st.sampled_from(ZONES))
    suffix = " UTC" if zone == "UTC" else f" in {zone}"
    kind = draw(st.sampled_from(["hourly", "daily", "weekly", "every"]))
    h, m = draw(hours), draw(minutes)
    if kind == "hourly":
        return f"hourly at :{m:02d}{suffix}"
    if kind == "daily":
        return f"daily at {h}:{m:02d}{suffix}"
    if kind == "weekly":
        return f"weekly on {draw(st.sampled_from(when.DAYS))} at {h:02d}:{m:02d}{suffix}"
    return f"every {draw(st.sampled_from([1, 5, 7, 15, 30, 45, 60, 90, 360, 1440]))} minutes"


def wall_exists(day, hour, minute, tz):
    naive = datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def is_run(w, t):
    """The oracle, written from the grammar's words, not from the implementation."""
    if t.second or t.microsecond:
        return False
    if w.kind == "every":
        return int(t.timestamp()) % w.period == 0
    shown = t.astimezone(w.tz)
    if w.kind == "hourly":
        return shown.minute == w.minute
    for day in (shown.date() - timedelta(days=1), shown.date()):
        if w.kind == "weekly" and day.weekday() != w.weekday:
            continue
        naive = datetime.combine(day, datetime.min.time()).replace(hour=w.hour, minute=w.minute)
        if wall_exists(day, w.hour, w.minute, w.tz):
            if shown.replace(tzinfo=None) == naive and shown.fold == 0:   # a repeated time: the first
                return True
        else:   # skipped by the clock: at the offset the clock had before the jump
            before = (naive - timedelta(hours=3)).replace(tzinfo=w.tz).utcoffset()
            if (naive - before).replace(tzinfo=UTC) == t:
                return True
    return False


def walk(w, start, end):
    """Every run in (start, end], minute by minute (all offsets here are whole minutes)."""
    t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t <= end:
        if is_run(w, t):
            yield t
        t += timedelta(minutes=1)


@settings(max_examples=300)
@given(schedules(), moments)
def test_the_next_run_is_after_now_on_the_grammars_minute_and_none_is_skipped(text, now):
    w = when.parse(text)
    nxt = w.next_after(now)
    assert nxt > now and nxt.second == 0 and nxt.microsecond == 0
    assert is_run(w, nxt), (text, now, nxt)
    span = nxt - now
    assert span <= timedelta(days=7, hours=2)
    if span <= timedelta(days=1, hours=2):       # the whole gap walked; weekly ones by their last day
        assert list(walk(w, now, nxt)) == [nxt], (text, now)
    else:
        assert list(walk(w, nxt - timedelta(days=1), nxt)) == [nxt]


@given(schedules(), moments, st.integers(0, 10 * 86400))
def test_next_run_is_monotone_and_previous_brackets_now(text, now, later):
    w = when.parse(text)
    other = now + timedelta(seconds=later)
    assert w.next_after(now) <= w.next_after(other)
    prev = w.previous(now)
    assert prev <= now < w.next_after(now)
    assert w.next_after(prev) == w.next_after(now)          # nothing between the two


@settings(max_examples=60)
@given(st.sampled_from([z for z in ZONES if z != "UTC"]), hours, minutes, st.integers(1995, 2035))
def test_daily_runs_once_on_every_day_through_a_whole_year_of_dst_changes(zone, hour, minute, year):
    w = when.parse(f"daily at {hour:02d}:{minute:02d} in {zone}")
    tz = ZoneInfo(zone)
    start = datetime(year, 1, 1, tzinfo=tz).astimezone(UTC)
    runs = w.runs(start, 366)
    days = [r.astimezone(tz).date() for r in runs]
    assert len(set(days)) == len(days), "two runs on one local day"
    assert all((b - a).days == 1 for a, b in zip(days, days[1:])), "a local day without a run"
    for run, day in zip(runs, days):
        shown = run.astimezone(tz)
        if wall_exists(day, hour, minute, tz):
            assert (shown.hour, shown.minute, shown.fold) == (hour, minute, 0)
        else:   # skipped by the clock: once, later by the jump
            assert shown.replace(tzinfo=None) > datetime.combine(day, datetime.min.time()).replace(
                hour=hour, minute=minute)


def test_spring_forward_runs_the_skipped_time_once_at_the_shifted_time():
    w = when.parse("daily at 02:30 in America/New_York")
    runs = w.runs(datetime(2021, 3, 13, 12, tzinfo=UTC), 2)
    assert [when.local_text(r, w) for r in runs] == ["2021-03-14 03:30:00 America/New_York (EDT)",
                                                    "2021-03-15 02:30:00 America/New_York (EDT)"]


def test_fall_back_runs_the_repeated_time_once_the_first_time():
    w = when.parse("daily at 01:30 in America/New_York")
    runs = w.runs(datetime(2021, 11, 6, 12, tzinfo=UTC), 2)
    assert runs == [datetime(2021, 11, 7, 5, 30, tzinfo=UTC), datetime(2021, 11, 8, 6, 30, tzinfo=UTC)]


def test_hourly_follows_real_hours_through_both_changes():
    w = when.parse("hourly at :30 in Europe/Berlin")
    autumn = w.runs(datetime(2021, 10, 30, 23, 0, tzinfo=UTC), 4)
    assert [b - a for a, b in zip(autumn, autumn[1:])] == [timedelta(hours=1)] * 3
    assert [r.astimezone(w.tz).strftime("%H:%M%Z") for r in autumn] == ["01:30CEST", "02:30CEST", "02:30CET",
                                                                        "03:30CET"]
    spring = w.runs(datetime(2021, 3, 28, 0, 0, tzinfo=UTC), 2)
    assert [r.astimezone(w.tz).strftime("%H:%M%Z") for r in spring] == ["01:30CET", "03:30CEST"]


def test_hourly_in_a_half_hour_zone_is_on_its_clocks_minute():
    w = when.parse("hourly at :00 in Asia/Kolkata")
    assert w.next_after(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == datetime(2026, 1, 1, 0, 30, tzinfo=UTC)


def test_every_n_minutes_is_on_multiples_since_the_epoch_whatever_the_zone():
    w = when.parse("every 15 minutes")
    assert w.next_after(datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert w.next_after(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == datetime(2026, 3, 29, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize("text, problem", [
    ("daily at 24:00", "the hour must be 00 to 23"),
    ("hourly at :60", "the minute must be 00 to 59"),
    ("weekly on fry at 10:00", "unknown day 'fry'"),
    ("daily at 10:00 in Europe/Pari", "did you mean Europe/Paris?"),
    ("every 0 minutes", "N must be from 1"),
    ("every 5 seconds", "every N seconds is not a schedule"),
    ("monthly", "is not a schedule: expected hourly at :MM"),
    ("every 5 minutes in Europe/Paris", "is not a schedule"),
])
def test_bad_schedules_say_what_is_wrong(text, problem):
    with pytest.raises(ValueError, match=problem.replace("?", r"\?").replace("(", r"\(")):
        when.parse(text)


def test_the_grammar_takes_any_case_spacing_and_day_abbreviations():
    w = when.parse("  Weekly  ON  Sun at 9:05   in europe/paris ")
    assert (w.kind, w.weekday, w.hour, w.minute, w.zone) == ("weekly", 6, 9, 5, "Europe/Paris")
    assert when.parse("every 5 seconds", seconds=True).period == 5


@given(st.text(max_size=40))
def test_any_text_is_a_schedule_or_a_one_line_value_error(text):
    try:
        w = when.parse(text)
    except ValueError as exc:
        assert "\n" not in str(exc).strip("\n") or "\n" in text
        return
    assume(w.kind != "every")
    assert w.next_after(datetime(2026, 1, 1, tzinfo=UTC)) > datetime(2026, 1, 1, tzinfo=UTC)
