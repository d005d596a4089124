"""Which clips need a proxy: pure decisions for proxy-scan.

Frame rates are compared with a tolerance, so the rates people write (23.976,
23.98, 29.97, 59.94) match the exact NTSC rates (24000/1001, ...) that ffprobe and
Resolve report, while 24 never matches 23.976. Path patterns are shell globs: one
without `/` matches the file name, one with `/` the whole path (`*` crosses `/`).
"""

import os
import re
from dataclasses import dataclass
from fractions import Fraction

from .paths import path_selected

VIDEO_EXTENSIONS = ("mov", "mp4", "m4v", "mxf", "avi", "mkv", "mts", "m2ts", "mpg", "mpeg", "webm",
                    "3gp", "braw", "r3d", "ari", "crm", "insv", "lrv")


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


def parse_resolution(value):
    """(width, height) from '3840x2160' (or '3840 x 2160', '3840×2160'); None otherwise."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[x×X*]\s*(\d+)\s*", str(value))
    if not m:
        return None
    return int(m.group(1)), int(m.group(2))


def parse_minimum(value):
    """A minimum resolution: 'WxH', or a bare height such as '1080' (or '1080p'); ValueError."""
    if value in (None, ""):
        return None
    res = parse_resolution(value)
    if res:
        return res
    m = re.fullmatch(r"\s*(\d+)\s*p?\s*", str(value))
    if m:
        return 0, int(m.group(1))
    raise ValueError(f"not a resolution (WIDTHxHEIGHT or HEIGHT): {value!r}")


def big_enough(resolution, minimum):
    """True when `minimum` is None or the clip is at least that wide and high."""
    if minimum is None:
        return True
    res = parse_resolution(resolution) if not isinstance(resolution, tuple) else resolution
    if res is None:
        return False
    return res[0] >= minimum[0] and res[1] >= minimum[1]


def normalize_extensions(extensions):
    """Extensions lower-cased, without dots; empty means any."""
    return tuple(sorted({str(e).strip().lower().lstrip(".") for e in extensions or () if str(e).strip(". ")}))


def has_extension(path, extensions):
    """True when `extensions` is empty or the file name ends in one of them (any case)."""
    exts = normalize_extensions(extensions)
    if not exts:
        return True
    ext = os.path.splitext(str(path))[1].lower().lstrip(".")
    return ext in exts


@dataclass(frozen=True)
class Filters:
    extensions: tuple = VIDEO_EXTENSIONS
    include: tuple = ()
    exclude: tuple = ()
    fps: tuple = ()
    minimum: tuple = None

    def rejects(self, path, fps=None, resolution=None):
        """Why a clip is left out (a short reason), or None when it is selected.

        `fps` and `resolution` None mean unknown: a clip of unknown rate fails a
        frame-rate filter, one of unknown size a minimum resolution.
        """
        if not has_extension(path, self.extensions):
            return "extension"
        if not path_selected(path, self.include, self.exclude):
            return "path"
        if self.fps and not any_rate_matches(fps, self.fps):
            return "frame rate"
        if self.minimum is not None and not big_enough(resolution, self.minimum):
            return "resolution"
        return None

    @property
    def wants_media_facts(self):
        return bool(self.fps) or self.minimum is not None
