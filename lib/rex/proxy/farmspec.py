"""One farm job as plain JSON-able data: everything a worker needs, nothing it must ask.

The queuer probes the source and decides the preset, size and timecode; the worker
gets the spec, never talks to Resolve, and checks its own probe of the source against
the queuer's (a mapped path that leads to another file fails instead of encoding it).
"""

import hashlib
import math

# Slowest encode speed assumed for a 1080p source, frames per second; a larger source is
# slower in proportion to its pixels. Generous on purpose: a timeout only catches a hang.
SLOW_FPS = {"prores_proxy": 8, "prores_lt": 4, "dnxhr_lb": 8, "dnxhr_sq": 4, "h264_intra": 6}
HD_PIXELS = 1920 * 1080
MIN_TIMEOUT = 600         # seconds: start-up, probes and the check of a short clip
UNKNOWN_FRAMES = 24 * 3600   # a source whose frame count ffprobe cannot tell: an hour


def make(job, src, plan, key):
    """The spec of media.encode Job `job` (paths as the queuer sees them), from the source's
    Facts `src` and the Plan the queuer made."""
    record = job.record or {}
    return {
        "source": job.source,
        "target": job.proxy,
        "preset": plan.preset,
        "height": job.height,
        "timecode": plan.timecode,
        "frames": src.frames,
        "rate": f"{src.fps.numerator}/{src.fps.denominator}" if src.fps else None,
        "size": [src.width, src.height],
        "duration": src.duration,
        "audio_streams": src.audio_streams,
        "hflip": record.get("hflip"),
        "vflip": record.get("vflip"),
        "data_level": record.get("data_level"),
        "key": key,
    }


def record_of(spec):
    """The input record a worker's media.encode Job carries: timecode, flips, data level."""
    return {"start_tc": spec.get("timecode"), "hflip": spec.get("hflip"), "vflip": spec.get("vflip"),
            "data_level": spec.get("data_level")}


def job_timeout(spec):
    """Seconds a worker may spend on the spec before RQ stops it: the clip's frames at the
    preset's slowest speed for the source's size, plus start-up; never RQ's 180 s."""
    frames = spec.get("frames") or UNKNOWN_FRAMES
    width, height = spec.get("size") or (1920, 1080)
    scale = max(1.0, (width or 1920) * (height or 1080) / HD_PIXELS)
    fps = SLOW_FPS.get(spec.get("preset"), 4)
    return int(MIN_TIMEOUT + math.ceil(frames * scale / fps))


def job_id(target):
    """The RQ job id of the proxy at `target`: the same proxy is never queued twice."""
    return "rex-proxy-" + hashlib.sha256(str(target).encode("utf-8", "surrogateescape")).hexdigest()[:32]
