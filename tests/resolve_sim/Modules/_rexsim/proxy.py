"""Proxy rules of the simulated Resolve.

"Proxy" reads "None" (no proxy), the proxy's resolution (linked and online) or
"Offline" (linked, file missing). Offline latches: it stays offline after the file
returns, until the clip is unlinked and linked again, as Resolve does.

Linking is strict, like Resolve's: the proxy must exist and match its source in frame
rate, frame count, start timecode (QuickTime timecode) and number of audio streams,
and the Project Manager window must be closed. A refusal is a bare False.

Clips added from real media (state.add_media_clip) carry the source's probed facts
in clip["source"]; clips of the stock scene have only their properties, so a
proxy is compared with those, and one ffprobe cannot read is accepted for them
(the scene has no real files).
"""
import os

from . import media


def _source_facts(clip):
    facts = clip.get("source")
    if facts:
        return facts
    props = clip["props"]
    return {"fps": props.get("FPS"), "frames": int(props.get("Frames") or 0),
            "start_tc": props.get("Start TC"), "audio_streams": None}


def mismatches(clip, path):
    """Why Resolve would refuse PATH as CLIP's proxy ([] when it would link it)."""
    if not (isinstance(path, str) and os.path.isabs(path) and os.path.isfile(path)):
        return ["missing"]
    px = media.probe(path)
    if px is None:
        return ["unreadable"] if clip.get("source") else []
    src = _source_facts(clip)
    why = []
    if not media.fps_equal(src["fps"], px["fps"]):
        why.append("fps")
    if int(src["frames"]) != px["frames"]:
        why.append("frames")
    if not media.tc_equal(src["start_tc"], px["start_tc"]):
        why.append("start_tc")
    if src.get("audio_streams") is not None and src["audio_streams"] != px["audio_streams"]:
        why.append("audio")
    return why


def accepts(clip, path):
    """Would Resolve link PATH as CLIP's proxy?"""
    return not mismatches(clip, path)


def link(clip, path):
    clip["props"]["Proxy Media Path"] = path
    clip["proxy_offline"] = False
    px = media.probe(path)
    if px is not None:
        clip["proxy_resolution"] = "%dx%d" % (px["width"], px["height"])
        return
    w, _, h = str(clip["props"].get("Resolution", "")).partition("x")
    clip["proxy_resolution"] = ("%dx%d" % (int(w) // 2, int(h) // 2)
                                if w.isdigit() and h.isdigit() else "1280x720")


def unlink(clip):
    clip["props"]["Proxy Media Path"] = ""
    clip["proxy_offline"] = False


def status(clip):
    path = clip["props"].get("Proxy Media Path")
    if not path:
        return "None"
    if clip.get("proxy_offline") or not os.path.exists(path):
        clip["proxy_offline"] = True
        return "Offline"
    return clip.get("proxy_resolution", "1280x720")
