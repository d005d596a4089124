"""Durations as people write them: `90`, `45s`, `10m`, `1h30m`, `7d`, `2w`."""

import math
import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdwy])", re.IGNORECASE)


def parse_duration(text):
    """Seconds in `text` (a number of seconds, or parts like `1h30m`); ValueError if not one."""
    if isinstance(text, bool):
        raise ValueError("not a duration")
    if isinstance(text, (int, float)):
        if not math.isfinite(text):
            raise ValueError("not a duration: a duration must be finite")
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    value = str(text).strip().replace(" ", "")
    if not value:
        raise ValueError("empty duration")
    try:
        seconds = float(value)
    except ValueError:
        pos, seconds = 0, 0.0
        for m in _PART.finditer(value):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * UNITS[m.group(2).lower()]
            pos = m.end()
        if pos != len(value):
            raise ValueError(f"not a duration: {text!r} (use e.g. 45s, 10m, 1h30m, 7d)") from None
    if not math.isfinite(seconds):   # float() also reads 'nan' and 'inf'
        raise ValueError(f"not a duration: {text!r} (use e.g. 45s, 10m, 1h30m, 7d)")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def format_duration(seconds):
    seconds = int(seconds)
    for unit in ("w", "d", "h", "m"):
        size = UNITS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
