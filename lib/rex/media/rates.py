"""Frame rates as people write them and as ffprobe and Resolve report them.

Rates are compared with a tolerance, so the rates people write (23.976, 23.98,
29.97, 59.94) match the exact NTSC rates (24000/1001, ...) that ffprobe and Resolve
report, while 24 never matches 23.976.
"""

import re
from fractions import Fraction


def parse_rate(value):
    """A frame rate from a number, 'N/D', '23.976' or '25 fps' as a positive float; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Fraction)):
        rate = float(value)
    else:
        text = str(value).strip().lower()
        text = re.sub(r"\s*(fps|p)$", "", text)
        try:
            rate = float(Fraction(text))
        except (ValueError, ZeroDivisionError):
            return None
    return rate if rate > 0 and rate == rate and rate != float("inf") else None


def rate_matches(a, b):
    """True when two frame rates are the same rate as people mean it.

    23.976, 23.98 and 24000/1001 agree; 24 and 23.976 do not (they differ by 0.1 %,
    the NTSC offset); the tolerance grows a little with the rate.
    """
    a, b = parse_rate(a), parse_rate(b)
    if a is None or b is None:
        return False
    return abs(a - b) <= 0.005 + 1e-4 * max(a, b)


def any_rate_matches(rate, wanted):
    """True when `wanted` is empty or `rate` matches one of them."""
    wanted = list(wanted or ())
    return not wanted or any(rate_matches(rate, w) for w in wanted)
