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
    """`seconds` as the configuration writes a duration, read back exactly by parse_duration.

    Whole seconds become parts from days down (`90` -> `1m30s`, `5400` -> `1h30m`,
    `30d`), or whole years or weeks when they divide evenly (`2w`, `1y`); a fraction
    of a second is written as seconds (`2.5s`).
    """
    if seconds != int(seconds):
        from decimal import Decimal

        return format(Decimal(repr(float(seconds))), "f") + "s"   # never 1e-05: the parser reads digits
    seconds = int(seconds)
    if not seconds:
        return "0s"
    for unit in ("y", "w"):
        if seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
