"""What a clip is, from ffprobe: the facts a proxy must share with its source.

Resolve swaps a proxy for its source only when frame rate, frame count, start
timecode and the number of audio streams agree, so these are the facts parsed
here. `ffprobe_argv` and `parse` are pure; `probe` runs ffprobe once (twice when
the container does not store a frame count and the packets must be counted);
`find_tool` is the one lookup of ffprobe and ffmpeg.
"""

import json
from dataclasses import asdict, dataclass
from fractions import Fraction

from ..errors import DataError


@dataclass(frozen=True)
class Facts:
    width: int
    height: int
    fps: Fraction             # r_frame_rate (the stream's base rate), else avg_frame_rate
    frames: int               # video frames (nb_frames, else counted packets); None if unknown
    timecode: str             # start timecode (stream or format tag), None if none
    audio_streams: int
    duration: float           # seconds; None if unknown
    codec: str = None
    pix_fmt: str = None
    color_range: str = None   # "pc" (full) or "tv" (limited) when the stream says

    def as_json(self):
        data = asdict(self)
        data["fps"] = f"{self.fps.numerator}/{self.fps.denominator}" if self.fps else None
        return data


def ffprobe_argv(ffprobe, path, count_packets=False):
    """The ffprobe command line that prints streams and format as JSON."""
    argv = [ffprobe, "-v", "error", "-hide_banner", "-of", "json", "-show_streams", "-show_format"]
    if count_packets:
        argv += ["-count_packets"]
    return argv + ["-i", "file:" + path]


def rate(text):
    """A frame rate such as '24000/1001' as a Fraction; None for '0/0' or nonsense."""
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _int(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def rotation(stream):
    """Degrees a player turns the picture (display matrix side data or the old rotate tag)."""
    for side in stream.get("side_data_list") or ():
        if "rotation" in side:
            try:
                return int(float(side["rotation"])) % 360
            except (TypeError, ValueError):
                pass
    try:
        return int((stream.get("tags") or {}).get("rotate", 0)) % 360
    except (TypeError, ValueError):
        return 0


class NoVideo(DataError):
    """A file ffprobe reads that holds no video stream (sound only, a still's container)."""


def parse(text):
    """Facts from ffprobe's JSON; NoVideo (a DataError) when there is no video stream."""
    try:
        data = json.loads(text)
    except ValueError:
        raise DataError("ffprobe printed no JSON") from None
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    video = [s for s in streams if s.get("codec_type") == "video"
             and not (s.get("disposition") or {}).get("attached_pic")]
    if not video:
        raise NoVideo("no video stream")
    v = video[0]
    fps = rate(v.get("r_frame_rate")) or rate(v.get("avg_frame_rate"))
    frames = _int(v.get("nb_frames")) or _int(v.get("nb_read_packets"))
    timecode = (v.get("tags") or {}).get("timecode")
    if not timecode:
        for s in streams:
            timecode = (s.get("tags") or {}).get("timecode")
            if timecode:
                break
    timecode = timecode or (fmt.get("tags") or {}).get("timecode")
    duration = _float(v.get("duration")) or _float(fmt.get("duration"))
    width, height = int(v.get("width") or 0), int(v.get("height") or 0)
    if rotation(v) % 180 == 90:      # ffmpeg autorotates when it decodes: the picture is upright
        width, height = height, width
    return Facts(width=width, height=height, fps=fps, frames=frames,
                 timecode=timecode or None,
                 audio_streams=sum(1 for s in streams if s.get("codec_type") == "audio"),
                 duration=duration, codec=v.get("codec_name"), pix_fmt=v.get("pix_fmt"),
                 color_range=v.get("color_range"))


def probe(path, ffprobe, timeout=120, count_frames=True):
    """Facts of the clip at `path`; DataError (65) quoting ffprobe when it cannot be read.

    Without `count_frames` a container that stores no frame count is not read through
    to count them (frames stays None): enough to know what the file is.
    """
    from ..runner import run

    facts = None
    for count in (False, True) if count_frames else (False,):
        result = run(ffprobe_argv(ffprobe, path, count_packets=count), timeout=timeout)
        if not result.ok:
            tail = result.tail()
            raise DataError("ffprobe cannot read it" + (f": {tail}" if tail else ""))
        facts = parse(result.stdout.decode("utf-8", "replace"))
        if facts.frames:
            break
    return facts


def audio_durations(text):
    """Seconds each audio stream lasts, in stream order, from ffprobe's JSON (None where unknown)."""
    found = []
    for s in json.loads(text).get("streams") or []:
        if s.get("codec_type") != "audio":
            continue
        seconds = _float(s.get("duration"))
        if seconds is None and s.get("duration_ts") is not None:
            tb = rate(s.get("time_base"))
            seconds = float(int(s["duration_ts"]) * tb) if tb else None
        found.append(seconds)
    return found


def probe_audio_durations(path, ffprobe, timeout=120):
    """audio_durations of the clip at `path`; DataError when ffprobe cannot read it."""
    from ..runner import run

    result = run(ffprobe_argv(ffprobe, path), timeout=timeout)
    if not result.ok:
        tail = result.tail()
        raise DataError("ffprobe cannot read it" + (f": {tail}" if tail else ""))
    return audio_durations(result.stdout.decode("utf-8", "replace"))


def differences(source, proxy, timecode, same_timecode):
    """Why `proxy` (Facts) would not stand in for `source`: [] when Resolve can link it.

    `timecode` is the start timecode the proxy must carry (None: none expected);
    `same_timecode(a, b, fps)` compares two timecodes frame-exactly.
    """
    found = []
    if source.frames and proxy.frames != source.frames:
        found.append(f"frame count {proxy.frames} instead of {source.frames}")
    if source.fps and proxy.fps != source.fps:
        found.append(f"frame rate {_rate_text(proxy.fps)} instead of {_rate_text(source.fps)}")
    if timecode and not same_timecode(proxy.timecode, timecode, source.fps):
        found.append(f"start timecode {proxy.timecode or 'none'} instead of {timecode}")
    if proxy.audio_streams != source.audio_streams:
        found.append(f"{proxy.audio_streams} audio streams instead of {source.audio_streams}")
    return found


def _rate_text(fps):
    if not fps:
        return "unknown"
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def find_tool(name, config=None):
    """The ffprobe or ffmpeg to run: `proxy.NAME` from `config` when set, else NAME on
    PATH (Unavailable, 69, when missing). The one lookup of either program."""
    from ..runner import find_program

    try:
        configured = config.get(f"proxy.{name}") if config is not None else None
    except KeyError:        # a configuration without the key: look on PATH
        configured = None
    return find_program(name, configured)


def find_ffprobe(config=None):
    """The ffprobe to run (`find_tool`)."""
    return find_tool("ffprobe", config)


def prober(config=None):
    """A function path -> Facts, finding ffprobe (find_ffprobe) on first use."""
    state = {}

    def run(path, count_frames=True):
        if "ffprobe" not in state:
            state["ffprobe"] = find_ffprobe(config)
        return probe(path, state["ffprobe"], count_frames=count_frames)

    return run
