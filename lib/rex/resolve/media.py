"""Clips in Resolve: walking timelines and the media pool, clip facts, proxy links.

Timeline items and media pool items are API handles; the facts Rex needs come from
GetClipProperty() as one dict, turned into plain values by `clip_facts` (pure).
"Proxy" is "None", "Offline" or the proxy's resolution, and these three states
are kept distinct (`proxy_state`). Handles go stale once the user loads another
project, closes this one or switches library: every call then answers None or
False, so a None is checked against `still_open` and the handles fetched again
(`reopened`). "Type" is localized, so it is never matched on: a timeline in the
media pool is told by having no file path.
"""

import os

from ..errors import TempFail
from .api import has_call


def proxy_state(value):
    """'none' (no proxy), 'offline' (linked, file missing) or 'online' (linked, a resolution)."""
    text = str(value or "").strip()
    if not text or text.lower() == "none":
        return "none"
    if text.lower() == "offline":
        return "offline"
    return "online"


def _flag(value):
    return str(value).strip().lower() in ("on", "true", "1", "yes")


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def clip_facts(props):
    """Plain facts from a clip's property dict (GetClipProperty() with no argument)."""
    from ..media.rates import parse_rate

    props = props or {}
    fps = parse_rate(props.get("FPS"))
    return {
        "path": props.get("File Path") or "",
        "name": props.get("Clip Name") or props.get("File Name") or "",
        "fps": round(fps, 3) if fps else None,
        "frames": _int(props.get("Frames")),
        "start_tc": props.get("Start TC") or None,
        "resolution": props.get("Resolution") or None,
        "hflip": _flag(props.get("H-FLIP")),
        "vflip": _flag(props.get("V-FLIP")),
        "data_level": props.get("Data Level") or "Auto",
        "audio_ch": _int(props.get("Audio Ch")),
        "proxy": props.get("Proxy") or "None",
        "proxy_path": props.get("Proxy Media Path") or "",
    }


def open_project():
    """(project manager, the project open in Resolve); TempFail (75) when none is open."""
    from .connect import connect

    pm = connect().GetProjectManager()
    project = pm.GetCurrentProject()
    if project is None:
        raise TempFail("no project is open in DaVinci Resolve")
    return pm, project


def project_identity(project):
    """(name, unique id or None) of a project."""
    name = project.GetName()
    pid = project.GetUniqueId() if has_call(project, "GetUniqueId") else None
    return name, pid


def still_open(project):
    """False once the handle has gone stale (its project closed, reloaded or replaced)."""
    return project.GetName() is not None


def reopened(pm, name, project_id):
    """The open project when it is the one whose handles went stale (same unique id, else
    same name); TempFail (75) when the user opened another one or closed it."""
    project = pm.GetCurrentProject()
    if project is not None:
        now_name, now_id = project_identity(project)
        if (now_id == project_id) if (now_id and project_id) else (now_name is not None and now_name == name):
            return project
    raise TempFail(f"project {name!r} was closed in DaVinci Resolve during the run (another project or "
                   "library was opened); run again when it is open")


def timelines(project):
    """Every timeline of the project, in Resolve's order."""
    found = []
    for i in range(1, (project.GetTimelineCount() or 0) + 1):
        tl = project.GetTimelineByIndex(i)
        if tl is not None:
            found.append(tl)
    return found


def video_items(timeline):
    """Every item on every video track, track by track."""
    for index in range(1, (timeline.GetTrackCount("video") or 0) + 1):
        yield from timeline.GetItemListInTrack("video", index) or []


def bin_at(root, path):
    """The media pool folder at `path` (names below the root, a leading Master allowed); None."""
    path = list(path)
    if path and path[0] == root.GetName() and not any(f.GetName() == path[0] for f in root.GetSubFolderList() or []):
        path = path[1:]
    folder = root
    for name in path:
        folder = next((f for f in folder.GetSubFolderList() or [] if f.GetName() == name), None)
        if folder is None:
            return None
    return folder


def pool_items(folder):
    """Every media pool item in `folder` and the folders below it, depth first."""
    stack = [folder] if folder is not None else []
    while stack:
        f = stack.pop()
        yield from f.GetClipList() or []
        stack.extend(reversed(f.GetSubFolderList() or []))


def index_pool(media_pool):
    """({media id: item}, {normalised file path: [media ids]}) over the whole media pool
    (timelines, which are media pool items without a file, are only in the first)."""
    by_id, by_path = {}, {}
    for item in pool_items(media_pool.GetRootFolder()):
        mid = item.GetMediaId()
        if not mid:
            continue
        by_id[mid] = item
        path = item.GetClipProperty("File Path")
        if path:
            by_path.setdefault(os.path.normpath(path), []).append(mid)
    return by_id, by_path


def link_proxy(item, proxy_path):
    """Link `proxy_path` to `item`, first unlinking a proxy that went offline.

    Returns (linked, unlinked_first). Resolve answers a bare False on refusal.
    """
    unlinked = False
    if proxy_state(item.GetClipProperty("Proxy")) == "offline":
        unlinked = bool(item.UnlinkProxyMedia())
    return bool(item.LinkProxyMedia(proxy_path)), unlinked
