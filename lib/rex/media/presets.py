"""Which proxy to make, as pure decisions: preset, size, filters, timecode, ffmpeg argv.

Nothing here runs a program or reads a file, so every choice is tested without
ffmpeg. A proxy keeps its source's frame rate, frame count, start timecode and
audio streams (what Resolve checks before it links one), so the argv never
forces `-r`, passes frames through (`-fps_mode passthrough`: a variable frame
rate phone clip keeps its frame count), maps every audio stream as PCM and sets
`-timecode`. It writes QuickTime (`-f mov`) to a `.part` name the caller renames.
"""

import fnmatch
import os
import re
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Preset:
    name: str
    video: tuple        # codec arguments
    pix_fmt: str
    doc: str
    minimum: tuple = (2, 2)   # smallest frame the encoder accepts


PRESETS = {p.name: p for p in (
    # prores_ks searches a quantiser per slice by default; a fixed -qscale:v is ~3x faster.
    Preset("prores_proxy", ("-c:v", "prores_ks", "-profile:v", "0", "-qscale:v", "4", "-vendor", "apl0"),
           "yuv422p10le", "Apple ProRes 422 Proxy"),
    Preset("prores_lt", ("-c:v", "prores_ks", "-profile:v", "1", "-qscale:v", "2", "-vendor", "apl0"),
           "yuv422p10le", "Apple ProRes 422 LT"),
    # DNxHR refuses frames smaller than 256x120 at start-up.
    Preset("dnxhr_lb", ("-c:v", "dnxhd", "-profile:v", "dnxhr_lb"), "yuv422p", "Avid DNxHR LB", (256, 120)),
    Preset("dnxhr_sq", ("-c:v", "dnxhd", "-profile:v", "dnxhr_sq"), "yuv422p", "Avid DNxHR SQ", (256, 120)),
    Preset("h264_intra", ("-c:v", "libx264", "-g", "1", "-preset", "veryfast", "-crf", "20"),
           "yuv420p", "H.264 all-intra"),
)}
DEFAULT_PRESET = "prores_proxy"
FRACTIONS = {"original": 1, "half": 2, "quarter": 4, "eighth": 8, "sixteenth": 16}
MIN_HEIGHT = 16           # the smallest height in pixels that --height and proxy.height take
AUDIO_CODEC = "pcm_s16le"


# ------------------------------------------------------------------ size

def parse_height(spec):
    """A height option as int (pixels) or a word of FRACTIONS; ValueError otherwise."""
    if spec is None:
        return "original"
    text = str(spec).strip().lower().rstrip("p")
    if text in FRACTIONS:
        return text
    if text.isdigit() and MIN_HEIGHT <= int(text) <= 8640:
        return int(text)
    raise ValueError(f"{spec!r}: expected a height in pixels (16-8640) or one of {', '.join(FRACTIONS)}")


def target_size(spec, width, height, minimum=(2, 2)):
    """(width, height) of the proxy: never larger than the source, both even, aspect kept.

    `spec` is a height in pixels or a word of FRACTIONS. The height is the one asked
    for, at least MIN_HEIGHT (the smallest height a proxy option takes) unless the
    source is smaller, rounded down to even: even sizes suit every codec's chroma
    subsampling. The width is the even number nearest the source's aspect at that
    height (1921x1081 at half: 960x540, not 958), within the source's width.
    """
    spec = parse_height(spec)
    h = height // FRACTIONS[spec] if isinstance(spec, str) else spec
    h = min(max(h, MIN_HEIGHT), height)
    h = max(2, h - h % 2)
    w = _even_width(width, height, h)
    min_w, min_h = minimum
    # Grow a proxy that is too small for the codec, but never beyond the source.
    while (w < min_w or h < min_h) and h + 2 <= height:
        h += 2
        w = _even_width(width, height, h)
    if w < min_w or h < min_h:
        raise ValueError(f"a {width}x{height} source is smaller than this codec's minimum {min_w}x{min_h}")
    return w, h


def _even_width(width, height, h):
    """The even width nearest to width * h / height, at most the source's (even) width."""
    if not height:
        return max(2, width - width % 2)
    nearest = 2 * ((width * h + height) // (2 * height))     # floor(exact / 2 + 1/2) * 2, in integers
    return max(2, min(nearest, width - width % 2))


# --------------------------------------------------------------- filters

def truthy(value):
    """A clip attribute from Resolve ('On', 'True', True, 1) as a bool."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "on", "true", "yes")
    return bool(value)


def range_of(data_level):
    """Resolve's Data Level ('Full', 'Video', 'Auto') as scale's in_range, or None for auto."""
    text = str(data_level or "").strip().lower()
    if text in ("full", "pc", "jpeg"):
        return "full"
    if text in ("video", "limited", "tv", "mpeg"):
        return "limited"
    return None


def video_filter(size, hflip=False, vflip=False, data_level=None):
    """The -vf chain: flips as Resolve shows the clip, then scale (and levels to limited)."""
    chain = []
    if truthy(hflip):
        chain.append("hflip")
    if truthy(vflip):
        chain.append("vflip")
    scale = f"scale={size[0]}:{size[1]}"
    in_range = range_of(data_level)
    if in_range:
        scale += f":in_range={in_range}:out_range=limited"
    chain.append(scale)
    return ",".join(chain)


# -------------------------------------------------------------- timecode

_TC = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")
DROP_RATES = (Fraction(30000, 1001), Fraction(60000, 1001))


def parse_timecode(text):
    """(hh, mm, ss, ff, drop) from 'HH:MM:SS:FF' (';' or '.' before FF: drop-frame); None if invalid."""
    m = _TC.match(str(text or "").strip())
    if not m:
        return None
    hh, mm, ss, sep, ff = m.groups()
    if int(mm) > 59 or int(ss) > 59:
        return None
    return int(hh), int(mm), int(ss), int(ff), sep in ";.,"


def nominal_rate(fps):
    """The integer frame rate timecode counts in (30 for 29.97)."""
    return max(1, round(Fraction(fps)))


def to_frames(text, fps):
    """Frame number of a timecode at `fps`, honouring drop-frame; None if invalid."""
    parsed = parse_timecode(text)
    if parsed is None:
        return None
    hh, mm, ss, ff, drop = parsed
    base = nominal_rate(fps)
    total_minutes = 60 * hh + mm
    frames = ((total_minutes * 60) + ss) * base + ff
    if drop:
        dropped = 2 * base // 30       # 2 per minute at 29.97, 4 at 59.94
        frames -= dropped * (total_minutes - total_minutes // 10)
    return frames


def format_timecode(frames, fps, drop=False):
    """'HH:MM:SS:FF' for a frame number (';' before FF and dropped numbers when `drop`)."""
    base = nominal_rate(fps)
    if drop:
        dropped = 2 * base // 30
        per_10min = base * 600 - dropped * 9
        per_min = base * 60 - dropped
        tens, rest = divmod(frames, per_10min)
        if rest >= dropped:
            frames += dropped * 9 * tens + dropped * ((rest - dropped) // per_min)
        else:
            frames += dropped * 9 * tens
    ff = frames % base
    seconds = frames // base
    text = f"{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return text + (";" if drop else ":") + f"{ff:02d}"


def start_timecode(record_tc, source_tc, fps):
    """The -timecode for the proxy: Resolve's Start TC from the record, else the source's.

    Written HH:MM:SS:FF, or with ';' for drop-frame; a drop-frame source keeps
    drop-frame even when the record wrote ':'. None when neither is valid.
    """
    source = parse_timecode(source_tc)
    for text in (record_tc, source_tc):
        parsed = parse_timecode(text)
        if parsed is None:
            continue
        hh, mm, ss, ff, drop = parsed
        if not drop and source and source[4] and text is record_tc:
            drop = True
        if drop and fps and Fraction(fps) not in DROP_RATES:
            drop = False
        return f"{hh:02d}:{mm:02d}:{ss:02d}" + (";" if drop else ":") + f"{ff:02d}"
    return None


def same_timecode(a, b, fps):
    """True when two timecodes name the same frame (or both are absent)."""
    if not a and not b:
        return True
    if not a or not b:
        return False
    fa, fb = to_frames(a, fps), to_frames(b, fps)
    if fa is None or fb is None:
        return str(a).strip() == str(b).strip()
    return fa == fb and parse_timecode(a)[4] == parse_timecode(b)[4]


# ----------------------------------------------------------------- rules

def _as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, (str, int)) else list(value)


def rule_matches(match, path, width, height):
    """True when a rule's `match` (ext, glob, min_/max_height, min_/max_width) fits the clip."""
    exts = [e.lower().lstrip(".") for e in _as_list(match.get("ext"))]
    if exts and os.path.splitext(path)[1].lower().lstrip(".") not in exts:
        return False
    globs = _as_list(match.get("glob"))
    if globs and not any(fnmatch.fnmatchcase(path, g) or
                         ("/" not in g and fnmatch.fnmatchcase(os.path.basename(path), g)) for g in globs):
        return False
    for key, value in (("min_height", height), ("min_width", width)):
        if key in match and (value or 0) < int(match[key]):
            return False
    for key, value in (("max_height", height), ("max_width", width)):
        if key in match and (value or 0) > int(match[key]):
            return False
    return True


def choose_preset(path, width, height, rules=(), default=DEFAULT_PRESET, override=None):
    """The preset for a clip: --preset, else the first rule that matches, else the default."""
    if override:
        return override
    for rule in rules or ():
        if rule_matches(rule.get("match") or {}, path, width, height):
            return rule["preset"]
    return default or DEFAULT_PRESET


# ------------------------------------------------------------------ argv

@dataclass(frozen=True)
class Plan:
    """Everything one encode needs, decided before anything runs."""
    source: str
    part: str
    preset: str
    size: tuple
    vf: str
    timecode: str
    threads: int


def plan(source, part, facts, record, preset, height, threads):
    """The Plan for `source` (ffprobe `facts`, the input `record` dict) with the chosen preset."""
    size = target_size(height, facts.width, facts.height, PRESETS[preset].minimum)
    vf = video_filter(size, record.get("hflip"), record.get("vflip"), record.get("data_level"))
    record_tc = record.get("start_tc") or record.get("Start TC")
    return Plan(source, part, preset, size, vf, start_timecode(record_tc, facts.timecode, facts.fps), threads)


def ffmpeg_argv(ffmpeg, p, before_input=(), audio_options=()):
    """The ffmpeg command line for Plan `p`: progress on stdout, errors only on stderr.

    `before_input` (a seek) and `audio_options` (an audio filter) let a chunk of a
    long clip (media.chunks) be encoded with the very same settings.
    """
    preset = PRESETS[p.preset]
    threads = str(max(1, p.threads or 1))
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y",
            "-threads", threads, *before_input, "-i", "file:" + p.source,
            "-map", "0:v:0", "-map", "0:a?", "-map_metadata", "-1", "-map_chapters", "-1",
            "-vf", p.vf, "-filter_threads", threads, "-fps_mode", "passthrough",
            *preset.video, "-pix_fmt", preset.pix_fmt, "-threads", threads,
            *audio_options, "-c:a", AUDIO_CODEC]
    if p.timecode:
        argv += ["-timecode", p.timecode]
    return argv + ["-f", "mov", "file:" + p.part]
