"""What the simulated Resolve reads from real media files, through ffprobe.

Resolve reads a clip's frame rate, frame count, resolution, QuickTime timecode and
audio layout when it is imported; the simulator does the same with ffprobe so tests
can use real generated clips (lavfi) and real proxies.
"""
import json
import os
import subprocess
from fractions import Fraction

_ENTRIES = ("stream=index,codec_type,r_frame_rate,avg_frame_rate,width,height,nb_read_packets,channels"
            ":stream_tags=timecode:format_tags=timecode")


def probe(path):
    """Facts of a media file, or None when it cannot be read as media.

    fps (Fraction), frames, width, height, start_tc ("00:00:00:00" when the file has
    no timecode, as Resolve shows), audio_streams, audio_channels.
    """
    if not isinstance(path, str) or not os.path.isfile(path):
        return None
    try:
        res = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries", _ENTRIES,
                              "-of", "json", path], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    try:
        data = json.loads(res.stdout.decode("utf-8", "replace"))
    except ValueError:
        return None
    streams = data.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None:
        return None
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    tc = (video.get("tags") or {}).get("timecode")
    for s in streams:
        tc = tc or (s.get("tags") or {}).get("timecode")
    tc = tc or (data.get("format", {}).get("tags") or {}).get("timecode") or "00:00:00:00"
    try:
        fps = Fraction(video.get("r_frame_rate") or "0")
    except (ValueError, ZeroDivisionError):
        fps = Fraction(0)
    return {"fps": fps, "frames": int(video.get("nb_read_packets") or 0),
            "width": int(video.get("width") or 0), "height": int(video.get("height") or 0),
            "start_tc": tc, "audio_streams": len(audio),
            "audio_channels": sum(int(s.get("channels") or 0) for s in audio)}


def fps_value(fps, text=False):
    """Resolve's "FPS": a number such as 23.976 or 25 (or the same as text)."""
    value = round(float(fps), 3)
    if value == int(value):
        value = int(value)
    return str(value) if text else value


def tc_equal(a, b):
    """Timecodes compared as Resolve does: frame fields, ';' and ':' alike."""
    def norm(t):
        return str(t or "00:00:00:00").replace(";", ":").replace(".", ":")
    return norm(a) == norm(b)


def fps_equal(a, b):
    try:
        return abs(float(a) - float(b)) < 0.005
    except (TypeError, ValueError):
        return False
