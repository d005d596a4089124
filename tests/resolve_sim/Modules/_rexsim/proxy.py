"""Proxy rules of the simulated Resolve, kept in one place for the proxy work to extend.

"Proxy" reads "None" (no proxy), the proxy's resolution (linked and online) or
"Offline" (linked, file missing). Offline latches: it stays offline after the file
returns, until the clip is unlinked and linked again, as Resolve does.
"""
import os


def accepts(clip, path):
    """Would Resolve link PATH as CLIP's proxy? Hook for strict checks (frame rate,
    frame count, start timecode, audio tracks); today only that the file exists."""
    return isinstance(path, str) and os.path.isabs(path) and os.path.isfile(path)


def link(clip, path):
    clip["props"]["Proxy Media Path"] = path
    clip["proxy_offline"] = False
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
