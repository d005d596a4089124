"""Why Resolve would refuse a proxy: the checks it does not explain, made ourselves.

Resolve's LinkProxyMedia answers a bare False. The known causes are a different
frame rate, frame count, start timecode (QuickTime timecode) or number of audio
streams, a missing file, and the Project Manager window being open. `mismatches`
compares facts (pure); `why_refused` gathers them (`facts_of` a probed file, else
Resolve's own facts of the clip) and compares.
"""

import os

PROJECT_MANAGER_HINT = ("Resolve also refuses every link while its Project Manager window is open: "
                        "close it and run again")


def normalize_tc(tc):
    """A start timecode for comparison: ';' (drop frame) and ':' alike; none is 00:00:00:00."""
    text = str(tc or "").strip() or "00:00:00:00"
    return text.replace(";", ":").replace(".", ":")


def mismatches(source, proxy):
    """Reasons (text) the proxy does not match its source; [] when nothing differs.

    Each side is a dict with fps, frames, start_tc, audio_streams; a value that is
    None on the source side is unknown and not compared (start_tc None on both
    sides means no timecode, 00:00:00:00 to Resolve).
    """
    from ..media.rates import rate_matches

    reasons = []
    if source.get("fps") and proxy.get("fps") and not rate_matches(source["fps"], proxy["fps"]):
        reasons.append(f"frame rate differs: source {_rate(source['fps'])}, proxy {_rate(proxy['fps'])}")
    if source.get("frames") is not None and proxy.get("frames") is not None \
            and int(source["frames"]) != int(proxy["frames"]):
        reasons.append(f"frame count differs: source {source['frames']}, proxy {proxy['frames']}")
    if "start_tc" in source and normalize_tc(source.get("start_tc")) != normalize_tc(proxy.get("start_tc")):
        reasons.append(f"start timecode differs: source {source.get('start_tc') or '00:00:00:00'}, "
                       f"proxy {proxy.get('start_tc') or 'none (00:00:00:00)'}")
    if source.get("audio_streams") is not None and proxy.get("audio_streams") is not None \
            and source["audio_streams"] != proxy["audio_streams"]:
        reasons.append(f"audio stream count differs: source {source['audio_streams']}, "
                       f"proxy {proxy['audio_streams']}")
    return reasons


def _rate(value):
    from fractions import Fraction

    if isinstance(value, Fraction):
        value = float(value)
    try:
        return f"{float(value):.3f}".rstrip("0").rstrip(".")
    except (TypeError, ValueError):
        return str(value)


def facts_of(probed):
    """The compared facts from rex.media.probe.Facts."""
    return {"fps": probed.fps, "frames": probed.frames, "start_tc": probed.timecode,
            "audio_streams": probed.audio_streams}


def why_refused(source_path, clip, proxy_path, prober):
    """Every reason we can find for a refusal, as text lines.

    `clip` holds Resolve's facts (fps, frames, start_tc), used when the source file
    cannot be probed; `prober(path)` returns rex.media.probe.Facts or raises.
    """
    from ..errors import RexError

    if not os.path.isfile(proxy_path):
        return ["proxy file missing"]
    try:
        proxy = facts_of(prober(proxy_path))
    except RexError as exc:
        return [f"proxy cannot be read: {exc.message}"]
    source = None
    if source_path and os.path.isfile(source_path):
        try:
            source = facts_of(prober(source_path))
        except RexError:
            source = None
    if source is None:
        source = {"fps": clip.get("fps"), "frames": clip.get("frames"), "start_tc": clip.get("start_tc"),
                  "audio_streams": None}
    return mismatches(source, proxy)
