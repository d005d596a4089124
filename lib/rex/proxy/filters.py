"""Which clips need a proxy: pure decisions for proxy-scan.

Frame rates are compared as rex.media.rates does (with a tolerance). Path patterns
are shell globs: one without `/` matches the file name, one with `/` the whole path
(`*` crosses `/`).
"""

import os
import re
from dataclasses import dataclass

from ..media.rates import any_rate_matches
from ..paths import path_selected

VIDEO_EXTENSIONS = ("mov", "mp4", "m4v", "mxf", "avi", "mkv", "mts", "m2ts", "mpg", "mpeg", "webm",
                    "3gp", "braw", "r3d", "ari", "crm", "insv", "lrv")


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


def from_settings(extensions, include, exclude, fps, min_resolution):
    """Filters from the scan.* settings; UsageError (64) naming the option of a bad rate or size."""
    from ..errors import UsageError
    from ..media.rates import parse_rate

    for rate in fps:
        if parse_rate(rate) is None:
            raise UsageError(f"--fps: not a frame rate: {rate!r}")
    try:
        minimum = parse_minimum(min_resolution)
    except ValueError as exc:
        raise UsageError(f"--min-resolution: {exc}") from None
    return Filters(extensions=tuple(extensions), include=tuple(include), exclude=tuple(exclude), fps=tuple(fps),
                   minimum=minimum)
