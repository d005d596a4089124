"""rex.resolve.dates: the modification dates Resolve reports, read as the end of the span they name."""

import calendar
import math
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rex.resolve.dates import changed_before

T = calendar.timegm((2024, 6, 15, 4, 0, 0))          # 2024-06-15T04:00:00Z
NEW_YORK = ZoneInfo("America/New_York")

# Instants (whole seconds) Resolve could report: 2001 .. 2100.
instants = st.integers(min_value=10 ** 9, max_value=4102444800)
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(lambda m: timedelta(minutes=m))
zones = st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata",
                         "Pacific/Chatham", "America/Santiago", "Europe/Dublin"]).map(ZoneInfo)


@pytest.mark.parametrize("text,end", [
    ("2024-06-15T04:00:00Z", T + 1),
    ("2024-06-15T04:00:00z", T + 1),
    ("2024-06-15T09:30:00+05:30", T + 1),
    ("2024-06-15T09:30:00+0530", T + 1),
    ("2024-06-15T09:00:00+05", T + 1),
    ("2024-06-15 00:00:00-04:00", T + 1),
    ("2024-06-15 04:00:00 +00:00", T + 1),
    ("2024-06-15T04:00:00.5Z", T + 0.6),
    ("2024-06-15T04:00:00,25Z", T + 0.26),
    ("2024-06-15T04:00:00.123456Z", T + 0.123457),
    ("2024-06-15T04:00:00.1234561Z", T + 0.123457),     # beyond microseconds: rounded up
    ("2024-06-15T04:00Z", T + 60),
    ("  2024-06-15T04:00:00Z\n", T + 1),
    (str(T), T + 1),
    (f"{T}.25", T + 0.26),
    (str(T * 1000), T + 0.001),
    (T, T + 1),
    (T + 0.75, T + 1),
])
def test_examples_with_a_zone_or_epoch(text, end):
    assert changed_before(text) == pytest.approx(end, abs=1e-6)


@pytest.mark.parametrize("text,end", [
    ("2024-06-15 00:00:00", T + 1),             # New York is UTC-4 in June
    ("2024-06-15T00:00:00", T + 1),
    ("2024-06-15 00:00", T + 60),
    ("2024-06-14", T),                           # the whole local day, to midnight
    ("2024-01-15 00:00:00", calendar.timegm((2024, 1, 15, 5, 0, 0)) + 1),   # UTC-5 in winter
    # Clocks went back at 2:00 EDT on 3 Nov 2024: 1:30 happened twice; the later reading.
    ("2024-11-03 01:30:00", calendar.timegm((2024, 11, 3, 6, 30, 0)) + 1),
    # The day clocks went forward has 23 hours.
    ("2024-03-10", calendar.timegm((2024, 3, 11, 4, 0, 0))),
])
def test_local_time_without_a_zone(text, end):
    assert changed_before(text, tz=NEW_YORK) == end


def test_local_time_is_this_machines_by_default(monkeypatch):
    try:
        for zone, hours in (("UTC0", 0), ("EST+5", 5), ("IST-5:30", -5.5)):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            assert changed_before("2024-01-15 00:00:00") == \
                calendar.timegm((2024, 1, 15, 0, 0, 0)) + hours * 3600 + 1
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("text", [
    "", " ", "yesterday", "2024-06-15T", "2024-6-15 04:00:00", "24-06-15", "2024/06/15 04:00:00",
    "2024-02-30 00:00:00", "2024-13-01", "2024-06-15 24:00:00", "2024-06-15 23:60:00", "2024-06-15 23:59:60",
    "2024-06-15T04:00:00+24:00", "2024-06-15T04:00:00+05:60", "2024-06-15T04:00:00+5", "2024-06-15Z",
    "0000-01-01", "9999-12-31", "2024-06-15T04:00:00.Z", "20240615", "20240615T040000Z", "123", "-1718424000",
    "1e9", "nan", "٢٠٢٤-٠٦-١٥", "Sat Jun 15 04:00:00 2024", None, True, False, float("nan"), float("inf"),
    -5, 0, [], {},
])
def test_unreadable(text):
    assert changed_before(text) is None


@given(instants, offsets, st.booleans())
def test_iso_with_an_offset_round_trips(t, offset, colon):
    text = datetime.fromtimestamp(t, timezone(offset)).isoformat()
    if not colon:
        text = text[:-3] + text[-2:]
    assert changed_before(text) == t + 1


@given(instants, st.integers(min_value=0, max_value=999999), st.sampled_from(["Z", "+00:00", "-03:30"]))
def test_fractional_seconds_end_after_the_instant(t, micro, zone):
    when = datetime.fromtimestamp(t, timezone.utc).replace(microsecond=micro)
    text = when.astimezone(timezone(timedelta(hours=-3, minutes=-30)) if zone == "-03:30" else timezone.utc)
    text = text.isoformat(timespec="microseconds").replace("+00:00", "Z" if zone == "Z" else "+00:00")
    end = changed_before(text)
    assert end == pytest.approx(t + micro / 1e6 + 1e-6, abs=1e-6)


@given(instants, zones)
def test_local_time_always_ends_after_the_change(t, zone):
    """The soundness that matters: the instant reported is before the end returned,
    and by at most one second plus a repeated hour when clocks went back."""
    text = datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M:%S")
    end = changed_before(text, tz=zone)
    assert t < end <= t + 1 + 3600
    if datetime.fromtimestamp(t, zone).replace(fold=1).utcoffset() == \
            datetime.fromtimestamp(t, zone).replace(fold=0).utcoffset():
        assert end == t + 1


@given(instants, zones, st.sampled_from(["%Y-%m-%d %H:%M", "%Y-%m-%d"]))
def test_coarser_dates_end_at_the_end_of_their_span(t, zone, form):
    local = datetime.fromtimestamp(t, zone)
    end = changed_before(local.strftime(form), tz=zone)
    assert t < end
    assert end <= t + (60 if "M" in form else 25 * 3600) + 3600


@given(instants, instants)
def test_later_dates_never_end_earlier(a, b):
    assume(a <= b)
    fmt = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    assert changed_before(fmt(a)) <= changed_before(fmt(b))
    assert changed_before(str(a)) <= changed_before(str(b))


@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("latin-1")), st.integers(), st.floats(),
                 st.none(), st.booleans(), st.lists(st.integers())))
def test_anything_gives_a_number_or_none(value):
    end = changed_before(value)
    assert end is None or (isinstance(end, (int, float)) and math.isfinite(end))
