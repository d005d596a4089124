"""Small real clips and proxies for the proxy tests, made with ffmpeg's lavfi sources.

Every clip is tiny (320x180, about a second) so a test makes several in well under a
second each; proxies are made with plain ffmpeg, matching their source or not.
"""

import json
import os
import subprocess

RATES = {"23.976": "24000/1001", "25": "25", "29.97": "30000/1001"}


def make_clip(path, rate="25", seconds=1, size="320x180", timecode=None, audio=1):
    """A MOV (or whatever the extension says) with AUDIO mono streams and an optional timecode."""
    fps = RATES.get(rate, rate)
    argv = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi",
            "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}"]
    for i in range(audio):
        argv += ["-f", "lavfi", "-i", f"sine=frequency={440 + 110 * i}:duration={seconds}"]
    argv += ["-map", "0:v"] + [x for i in range(audio) for x in ("-map", f"{i + 1}:a")]
    argv += ["-c:v", "mpeg4", "-q:v", "8", "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "pcm_s16le", "-shortest"]
    if timecode:
        argv += ["-timecode", timecode]
    subprocess.run(argv + [str(path)], check=True, timeout=60)
    return str(path)


def make_proxy(source, path, timecode="copy", frames=None, audio=True, rate=None, size="160:90"):
    """A proxy of SOURCE made with plain ffmpeg: same rate, frames and audio unless told.

    timecode: "copy" takes the source's, None writes none, else the given one.
    """
    argv = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(source), "-map", "0:v:0"]
    if audio:
        argv += ["-map", "0:a?", "-c:a", "pcm_s16le"]
    argv += ["-vf", f"scale={size}", "-c:v", "mpeg4", "-q:v", "10"]
    if rate:
        argv += ["-r", RATES.get(rate, rate)]
    if frames:
        argv += ["-frames:v", str(frames)]
    tc = source_timecode(source) if timecode == "copy" else timecode
    if tc:
        argv += ["-timecode", tc]
    else:
        argv += ["-write_tmcd", "0", "-map_metadata", "-1"]
    subprocess.run(argv + ["-f", "mov", str(path)], check=True, timeout=60)
    return str(path)


def source_timecode(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream_tags=timecode:format_tags=timecode",
                          "-of", "json", str(path)], capture_output=True, check=True).stdout
    data = json.loads(out)
    for s in data.get("streams", []):
        if (s.get("tags") or {}).get("timecode"):
            return s["tags"]["timecode"]
    return (data.get("format", {}).get("tags") or {}).get("timecode")


def probe_counts(path):
    """(frames, audio streams, timecode) of a file."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                          "stream=codec_type,nb_read_packets", "-of", "json", str(path)],
                         capture_output=True, check=True).stdout
    streams = json.loads(out)["streams"]
    frames = next(int(s["nb_read_packets"]) for s in streams if s["codec_type"] == "video")
    return frames, sum(s["codec_type"] == "audio" for s in streams), source_timecode(path)


def clip_set(directory):
    """The standard sources: {name: path}."""
    os.makedirs(directory, exist_ok=True)
    return {
        "a2398": make_clip(os.path.join(directory, "A001 23.976.mov"), "23.976", timecode="01:00:00:00"),
        "b25": make_clip(os.path.join(directory, "B001_25.mov"), "25", timecode="10:00:00:00", audio=2),
        "c2997": make_clip(os.path.join(directory, "C001_2997.mp4"), "29.97", audio=0),
    }
