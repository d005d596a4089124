"""`when` of a scheduled job (rexd, daemon.jobs): the grammar, and the run after a moment.

    hourly at :MM            every real hour, when the zone's clock shows minute MM
    daily at HH:MM           once per day of the zone's calendar
    weekly on DAY at HH:MM   once per week (DAY: monday..sunday, or mon..sun)
    every N minutes          at each multiple of N minutes since 1970-01-01 00:00 UTC

each followed by `UTC` or `in AREA/CITY` (an IANA zone; none: UTC); `every` takes no zone.

Pure: every answer is computed from the `now` it is given (an aware datetime), so the
tests drive a clock of their own. Daylight saving time: a daily or weekly time that the
clock skips (spring forward) runs once, at the shifted time (02:30 becomes 03:30, as
PEP 495's fold=0 reads it); a time that happens twice (fall back) runs once, the first
time. `hourly` follows real hours: one run per hour elapsed, whatever the clock shows.

A base-layer value syntax (like durations): config validates it, rexd computes with it.
The `schedule` library is not used for this: it needs pytz for any zone, reads the
wall clock itself (no controllable clock), keeps naive local times (wrong in the
repeated hour) and aligns "every N minutes" to when a job was added.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UTC = timezone.utc
GRAMMAR = "hourly at :MM, daily at HH:MM, weekly on DAY at HH:MM or every N minutes, then UTC or in ZONE"

_ZONE = r"(?:\s+(?:(?P<utc>utc)|in\s+(?P<zone>\S+)))?"
_FORMS = {
    "hourly": re.compile(r"hourly\s+at\s+:(?P<minute>\d{1,2})" + _ZONE, re.I),
    "daily": re.compile(r"daily\s+at\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})" + _ZONE, re.I),
    "weekly": re.compile(r"weekly\s+on\s+(?P<day>[a-z]+)\s+at\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})" + _ZONE,
                         re.I),
    "every": re.compile(r"every\s+(?P<count>\d+)\s+(?P<unit>minutes?|seconds?)", re.I),
}


@dataclass(frozen=True)
class When:
    kind: str               # hourly, daily, weekly, every
    text: str
    hour: int = 0
    minute: int = 0
    weekday: int = None     # 0 monday .. 6 sunday
    period: int = 0         # every: seconds
    zone: str = "UTC"

    @property
    def tz(self):
        return _zone(self.zone)

    def next_after(self, now):
        """The first run strictly after `now` (aware), in UTC."""
        now = _utc(now)
        if self.kind == "every":
            stamp = int(now.timestamp() // self.period + 1) * self.period
            return datetime.fromtimestamp(stamp, UTC)
        return min(t for t in self._around(now) if t > now)

    def previous(self, now):
        """The last run at or before `now` (aware), in UTC."""
        now = _utc(now)
        if self.kind == "every":
            stamp = int(now.timestamp() // self.period) * self.period
            return datetime.fromtimestamp(stamp, UTC)
        return max(t for t in self._around(now) if t <= now)

    def runs(self, now, count):
        """The next `count` runs after `now`."""
        found = []
        for _ in range(count):
            now = self.next_after(now)
            found.append(now)
        return found

    def _around(self, now):
        """Every run within a few periods of `now` (both sides), as UTC instants."""
        tz = self.tz
        if self.kind == "hourly":
            top = now.replace(minute=0, second=0, microsecond=0)
            return {t for h in range(-3, 4) for t in self._in_hour(top + timedelta(hours=h), tz)}
        today = now.astimezone(tz).date()
        days = range(-2, 3) if self.kind == "daily" else range(-8, 9)
        return {_instant(today + timedelta(days=d), self.hour, self.minute, tz) for d in days
                if self.kind == "daily" or (today + timedelta(days=d)).weekday() == self.weekday}

    def _in_hour(self, start, tz):
        """The instants of this UTC hour at which the zone's clock shows minute MM."""
        found = []
        for probe in (start, start + timedelta(minutes=59)):
            shown = probe.astimezone(tz)
            offset = (shown.minute - probe.minute) % 60       # the zone's minutes past the UTC minute
            candidate = start + timedelta(minutes=(self.minute - offset) % 60)
            if candidate.astimezone(tz).minute == self.minute:
                found.append(candidate)
        return found


def _instant(day, hour, minute, tz):
    """The UTC instant of the wall time `day hour:minute` in `tz`: fold=0, so a time the clock
    skips lands after the jump and a time it repeats is its first occurrence."""
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def _utc(moment):
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place in time")
    return moment.astimezone(UTC)


def _zone(name):
    if name == "UTC":
        return UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def parse(text, seconds=False):
    """The When that `text` says; ValueError naming what is wrong. `seconds`: also accept
    "every N seconds" (a hook for tests and benchmarks, not in the documented grammar)."""
    if not isinstance(text, str):
        raise ValueError(f"expected a schedule ({GRAMMAR})")
    clean = " ".join(text.split())
    for kind, form in _FORMS.items():
        match = form.fullmatch(clean)
        if match:
            return _build(kind, match.groupdict(), text.strip(), seconds)
    raise ValueError(f"'{text.strip()}' is not a schedule: expected {GRAMMAR}")


def _build(kind, parts, text, seconds):
    if kind == "every":
        count = int(parts["count"])
        unit = 1 if parts["unit"].lower().startswith("second") else 60
        if unit == 1 and not seconds:
            raise ValueError(f"'{text}': every N seconds is not a schedule; use every N minutes")
        if not 1 <= count * unit <= 7 * 86400:
            raise ValueError(f"'{text}': N must be from 1 to {7 * 1440} minutes")
        return When("every", text, period=count * unit)
    hour, minute = int(parts.get("hour") or 0), int(parts["minute"])
    if hour > 23:
        raise ValueError(f"'{text}': the hour must be 00 to 23")
    if minute > 59:
        raise ValueError(f"'{text}': the minute must be 00 to 59")
    weekday = None
    if kind == "weekly":
        day = parts["day"].lower()
        matches = [n for n, name in enumerate(DAYS) if len(day) >= 3 and name.startswith(day)]
        if not matches:
            raise ValueError(f"'{text}': unknown day '{day}' (monday to sunday, or mon to sun)")
        weekday = matches[0]
    return When(kind, text, hour, minute, weekday, zone=_zone_name(parts.get("zone"), text))


def _zone_name(zone, text):
    """The IANA name as the database spells it: as written when it is one (no listing of
    the database, which costs tens of milliseconds), else found whatever its case."""
    if not zone or zone.lower() == "utc":
        return "UTC"
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(zone)
        return zone
    except (KeyError, ValueError, OSError):     # not found (a KeyError), not a key, not a TZif file
        pass
    names = _zone_names()
    proper = names.get(zone.lower())
    if proper is None:
        import difflib

        near = difflib.get_close_matches(zone.lower(), list(names), n=1, cutoff=0.7)
        hint = f" (did you mean {names[near[0]]}?)" if near else ""
        raise ValueError(f"'{text}': unknown time zone '{zone}'{hint}")
    return proper


def _zone_names():
    import zoneinfo

    return {name.lower(): name for name in zoneinfo.available_timezones()}


def local_text(moment, when):
    """`moment` on the job's own clock, for --list: 2026-03-29 03:30 Europe/Paris (CEST)."""
    shown = moment.astimezone(when.tz)
    return shown.strftime("%Y-%m-%d %H:%M:%S ") + (when.zone if when.zone == "UTC" else
                                                   f"{when.zone} ({shown.tzname()})")



