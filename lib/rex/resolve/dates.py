"""The modification dates Resolve reports (GetProjectAttributesInCurrentFolder, 21.0.3+).

Blackmagic documents no format, so several plausible ones are read: ISO 8601 with or
without a zone and fractional seconds ('2024-06-15T09:30:00+05:30', the form a public
description of the call shows), 'YYYY-MM-DD HH:MM:SS', down to minutes or a bare date,
and epoch seconds (or milliseconds). Without a zone a date is local time of this machine.

A date names a span, not an instant: '09:30:00' only says the change happened before
09:30:01, a bare date before the next midnight. `changed_before` gives the end of that
span (UTC epoch seconds), so a backup stamped at or after it is known to hold the change.
Where local time is ambiguous (clocks set back) the later reading is taken: a needless
export rather than a missed one.
"""

import math
import re
from datetime import datetime, timedelta, timezone

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r" ?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?\Z", re.ASCII)
_NUMBER = re.compile(r"(\d{1,15})(?:\.(\d{1,9}))?\Z", re.ASCII)

# Epoch values outside these are no modification date of a Resolve project (2001 to 5138).
_SECONDS = (10 ** 9, 10 ** 11)
_MILLISECONDS = (10 ** 12, 10 ** 14)


def changed_before(value, tz=None):
    """UTC epoch seconds before which the change `value` reports happened, or None.

    `tz` is the zone of dates written without one (None: this machine's local time).
    None for anything unreadable: the caller must then assume the project changed.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None
        return _epoch(math.floor(value), 1)
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _NUMBER.match(text)
    if m:
        digits, fraction = m.groups()
        return _epoch(int(digits) + int(fraction or 0) / 10 ** len(fraction or ""),
                      10 ** -len(fraction or ""))
    m = _ISO.match(text)
    return _iso_end(m.groups(), tz) if m else None


def _epoch(number, resolution):
    if _SECONDS[0] <= number < _SECONDS[1]:
        return number + resolution
    if _MILLISECONDS[0] <= number < _MILLISECONDS[1]:
        return (number + resolution) / 1000
    return None


def _iso_end(groups, tz):
    year, month, day, hour, minute, second, fraction, zone = groups
    try:
        start = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                         int((fraction or "0")[:6].ljust(6, "0")))
        if hour is None:
            end = start + timedelta(days=1)
        elif second is None:
            end = start + timedelta(minutes=1)
        elif fraction is None:
            end = start + timedelta(seconds=1)
        else:   # beyond microseconds, round the end up
            end = start + timedelta(microseconds=10 ** (6 - len(fraction)) if len(fraction) <= 6 else 1)
        if zone:
            return end.replace(tzinfo=_offset(zone)).timestamp()
        if tz is not None:
            return max(end.replace(tzinfo=tz, fold=f).timestamp() for f in (0, 1))
        return max(end.replace(fold=f).timestamp() for f in (0, 1))
    except (ValueError, OverflowError, OSError):
        return None


def _offset(zone):
    if zone in "Zz":
        return timezone.utc
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(zone)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
