"""A long clip cut into frame-exact chunks, encoded apart and joined into one proxy.

Pure decisions only (nothing runs here): where the cuts fall, the ffmpeg argv of
one chunk, the concat list and the join argv, and whether a joined proxy stands
in for its source. Proxies are all-intra, so a chunk may start on any frame: each
chunk is decoded with an exact seek (`-ss` before `-i`) and is the same frames a
whole encode would make there.

Cuts fall on frame numbers. Each cut is also a time, the frame's start to the
nearest microsecond, and one number serves both sides of it: it is the seek of
the chunk after and the end of the audio of the chunk before. ffmpeg turns that
time into a sample (`round(us * rate / 10**6)`) the same way on both sides, so
every audio stream, whatever its sample rate, is cut into pieces that meet
exactly: joined, the audio is the whole encode's, sample for sample, and nothing
drifts however many chunks there are.

Two ffmpeg facts shape the argv. `-copyts -start_at_zero` keeps the timestamps
of the source (from zero), so the audio end is the same absolute time the next
chunk seeks to (after a plain `-ss` the end would be relative to a rounded start
and could miss by a sample); `setpts`/`asetpts` then start each chunk at zero.
And the video is cut with `trim=end_frame=N` rather than `-frames:v N`: ffmpeg
5.1 closes every stream of the output when one reaches its `-frames`, which cuts
the chunk's audio short wherever the muxer happened to be.
"""

from dataclasses import dataclass, replace
from fractions import Fraction

from . import presets, probe

CHUNK_OVER = 600          # seconds: clips longer than this are split (farm.chunk_over)
CHUNK_LENGTH = 120        # seconds: the longest chunk (farm.chunk_length)
CHUNK_DIR_SUFFIX = ".chunks"
US = 10 ** 6


@dataclass(frozen=True)
class Chunk:
    """Frames [start, start + frames) of the clip, seeking to `start_us`; the audio
    stops at `end_us` (the next chunk's seek), or runs to the end in the last chunk."""

    index: int
    start: int
    frames: int
    start_us: int
    end_us: int = None

    @property
    def last(self):
        return self.end_us is None

    def as_json(self):
        return {"index": self.index, "start": self.start, "frames": self.frames,
                "start_us": self.start_us, "end_us": self.end_us}


def frame_time_us(frame, fps):
    """The start of frame `frame` at `fps`, in microseconds from the clip's start (nearest)."""
    exact = Fraction(frame * US) / Fraction(fps)
    return int(exact + Fraction(1, 2))        # floor(x + 1/2): halves round up, as av_rescale does


def seconds_text(us):
    """Microseconds as ffmpeg's exact 'S.ffffff'."""
    return f"{us // US}.{us % US:06d}"


def frames_per_chunk(fps, length):
    """The most frames a chunk of at most `length` seconds holds (at least one)."""
    return max(1, int(Fraction(length) * Fraction(fps)))


def splittable(frames, fps, duration, over=CHUNK_OVER):
    """True when a clip of `frames` frames at `fps` lasting `duration` s is worth splitting
    and safe to split.

    It must be longer than `over` seconds, its frame count and rate known, and its
    duration that of its frames at its rate (within two frames): a variable frame
    rate clip does not hold frame N at N / rate, so a cut there would not be exact.
    """
    if not frames or not fps or frames < 2 or duration is None:
        return False
    fps = Fraction(fps)
    length = Fraction(frames) / fps
    if length <= Fraction(over):
        return False
    return abs(Fraction(duration) - length) <= 2 / fps


def plan(frames, fps, length=CHUNK_LENGTH):
    """The chunks of a clip of `frames` frames at `fps`, each at most `length` seconds.

    As few chunks as the length allows, of equal size (within one frame), so the
    last is not a stub; they cover frames [0, frames) with no gap and no overlap.
    """
    if not frames or frames < 1:
        raise ValueError("a clip without a known frame count cannot be split")
    if not fps or Fraction(fps) <= 0:
        raise ValueError("a clip without a known frame rate cannot be split")
    most = frames_per_chunk(fps, length)
    count = -(-frames // most)
    cuts = [i * frames // count for i in range(count + 1)]
    return tuple(Chunk(index=i, start=cuts[i], frames=cuts[i + 1] - cuts[i],
                       start_us=frame_time_us(cuts[i], fps),
                       end_us=frame_time_us(cuts[i + 1], fps) if i + 1 < count else None)
                 for i in range(count))


# ------------------------------------------------------------------ files

def chunk_dir(proxy):
    """The hidden directory beside the proxy that holds its chunks while they are made."""
    import os

    head, name = os.path.split(proxy)
    return os.path.join(head, "." + name + CHUNK_DIR_SUFFIX)


def chunk_path(proxy, chunk):
    """Where chunk `chunk` (a Chunk or its index) of `proxy` is written."""
    import os

    index = chunk.index if isinstance(chunk, Chunk) else int(chunk)
    return os.path.join(chunk_dir(proxy), f"{index:05d}.mov")


# ------------------------------------------------------------------- argv

def chunk_argv(ffmpeg, p, chunk, part, audio_streams):
    """The ffmpeg argv that encodes `chunk` of presets.Plan `p` to `part`.

    The whole encode's argv (presets.ffmpeg_argv: same preset, scale, flips, levels,
    audio) with an exact seek, the frames cut by count, the audio cut at the next
    chunk's time, and no timecode (the join writes the clip's).
    """
    vf = f"trim=end_frame={chunk.frames},setpts=PTS-STARTPTS,{p.vf}"
    seek = ("-copyts", "-start_at_zero", "-ss", seconds_text(chunk.start_us))
    audio = ()
    if audio_streams:
        cut = "" if chunk.last else f"atrim=end={seconds_text(chunk.end_us)},"
        audio = ("-af", cut + "asetpts=PTS-STARTPTS")
    return presets.ffmpeg_argv(ffmpeg, replace(p, part=part, vf=vf, timecode=None),
                               before_input=seek, audio_options=audio)


def concat_list(paths, chunks, fps):
    """The concat demuxer's list: each chunk file and its exact video duration.

    The duration keeps the next file's timestamps where its first frame belongs
    (a chunk's audio may be a sample longer than its video); paths are absolute
    and quoted the demuxer's way ('\\'' for a quote).
    """
    lines = ["ffconcat version 1.0"]
    for path, chunk in zip(paths, chunks):
        quoted = "file:" + str(path)
        quoted = quoted.replace("'", "'\\''")
        duration = Fraction(chunk.frames * US) / Fraction(fps)
        lines.append(f"file '{quoted}'")
        lines.append(f"duration {seconds_text(int(duration + Fraction(1, 2)))}")
    return "\n".join(lines) + "\n"


def join_argv(ffmpeg, list_path, part, timecode):
    """The argv joining the chunks named in `list_path` into `part` (streams copied),
    with the clip's start timecode, as a whole encode writes it."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y",
            "-f", "concat", "-safe", "0", "-i", "file:" + str(list_path),
            "-map", "0:v:0", "-map", "0:a?", "-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy"]
    if timecode:
        argv += ["-timecode", timecode]
    return argv + ["-f", "mov", "file:" + str(part)]


# ------------------------------------------------------------------ check

def chunk_differences(chunk, facts, audio_streams):
    """Why a chunk file (probe.Facts) is not the chunk it should be: [] when it is."""
    found = []
    if facts.frames != chunk.frames:
        found.append(f"{facts.frames} frames instead of {chunk.frames}")
    if facts.audio_streams != audio_streams:
        found.append(f"{facts.audio_streams} audio streams instead of {audio_streams}")
    return found


def joined_differences(source, joined, timecode, source_audio, joined_audio):
    """Why a joined proxy would not stand in for its source: [] when Resolve can link it.

    What any proxy is checked for (probe.differences: frame count, rate, start
    timecode, audio streams) and every audio stream as long as the source's, within
    a frame (`source_audio`, `joined_audio`: durations in seconds, stream by stream).
    """
    found = probe.differences(source, joined, timecode, presets.same_timecode)
    frame = 1 / float(source.fps) if source.fps else 0.05
    for i, (want, got) in enumerate(zip(source_audio, joined_audio)):
        if want is None:
            continue
        if got is None or abs(got - want) > frame:
            found.append(f"audio stream {i + 1} lasts {got if got is not None else 'unknown'} s "
                         f"instead of {want} s")
    return found
