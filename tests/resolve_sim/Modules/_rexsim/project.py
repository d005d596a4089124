"""Project and what hangs off it: media pool, bins, clips, timelines, timeline items.

Objects hold ids, not data, and look them up on each call. Like Resolve's handles they
go stale (every call answers None or False) once their project is closed or another
is loaded, even when the same project is opened again: each handle carries the
state's "generation" at the time its project was reached, and must still match it.
Timelines are media pool items too: a folder's clip list holds them beside the clips.
"""
import contextlib
import time

from . import library, proxy, store
from .base import SimObject, float_keyed


class _InProject(SimObject):
    def __init__(self, pid, generation):
        self._pid = pid
        self._gen = generation

    def _live(self, st):
        return st["current_project"] == self._pid and st.get("generation", 0) == self._gen

    @contextlib.contextmanager
    def _project(self, write=False):
        """Yield the open project (None when this handle has gone stale)."""
        with store.transaction(write) as st:
            yield library.find_project(st, self._pid) if self._live(st) else None


class Project(_InProject):
    def GetName(self):
        with self._project() as p:
            return p and p["name"]

    def GetUniqueId(self):
        with self._project() as p:
            return p and p["id"]

    def GetSetting(self, settingName=None):
        with self._project() as p:
            if p is None:
                return None
            return dict(p["settings"]) if not settingName else p["settings"].get(settingName)

    def SetSetting(self, settingName, settingValue):
        with self._project(write=True) as p:
            if p is None or settingName not in p["settings"]:
                return False
            p["settings"][settingName] = str(settingValue)
            p["modified"] = time.time()
            return True

    def GetTimelineCount(self):
        with self._project() as p:
            return p and len(p["timelines"])

    def GetTimelineByIndex(self, idx):
        with self._project() as p:
            if p is None or not isinstance(idx, int) or not 1 <= idx <= len(p["timelines"]):
                return None
            return Timeline(self._pid, self._gen, p["timelines"][idx - 1]["id"])

    def GetCurrentTimeline(self):
        with self._project() as p:
            if p is None or not library.find_timeline(p, p["current_timeline"]):
                return None
            return Timeline(self._pid, self._gen, p["current_timeline"])

    def SetCurrentTimeline(self, timeline):
        with self._project(write=True) as p:
            if p is None or not isinstance(timeline, Timeline) or timeline._pid != self._pid \
                    or not library.find_timeline(p, timeline._tid):
                return False
            p["current_timeline"] = timeline._tid
            return True

    def GetMediaPool(self):
        with self._project() as p:
            return p and MediaPool(self._pid, self._gen)


class MediaPool(_InProject):
    def GetRootFolder(self):
        with self._project() as p:
            return p and Folder(self._pid, self._gen, ())


class Folder(_InProject):
    def __init__(self, pid, generation, path):
        super().__init__(pid, generation)
        self._path = tuple(path)

    def _bin(self, p):
        return p and library.bin_at(p, self._path)

    def GetName(self):
        with self._project() as p:
            b = self._bin(p)
            return b and b["name"]

    def GetClipList(self):
        with self._project() as p:
            b = self._bin(p)
            if b is None:
                return None
            ids = [c["id"] for c in b["clips"]] + [t["id"] for t in library.timelines_in_bin(p, self._path)]
            return [MediaPoolItem(self._pid, self._gen, i) for i in ids]

    def GetSubFolderList(self):
        with self._project() as p:
            b = self._bin(p)
            return b and [Folder(self._pid, self._gen, self._path + (s["name"],)) for s in b["folders"]]

    def GetClips(self):
        """Deprecated: {1.0: item, ...}."""
        return float_keyed(self.GetClipList())

    def GetSubFolders(self):
        """Deprecated: {1.0: folder, ...}."""
        return float_keyed(self.GetSubFolderList())


class MediaPoolItem(_InProject):
    """A clip, or a timeline (its media id is the timeline's id)."""

    def __init__(self, pid, generation, mid):
        super().__init__(pid, generation)
        self._mid = mid

    def GetName(self):
        return self.GetClipProperty("Clip Name")

    def GetMediaId(self):
        with self._project() as p:
            return p and (library.find_clip(p, self._mid) or library.find_timeline(p, self._mid)) \
                and self._mid

    def GetClipProperty(self, propertyName=None):
        with store.transaction(write=True) as st:  # reading can latch a proxy offline
            p = library.find_project(st, self._pid) if self._live(st) else None
            clip = p and library.find_clip(p, self._mid)
            if clip is not None:
                props = dict(clip["props"], Proxy=proxy.status(clip))
            elif p and library.find_timeline(p, self._mid):
                props = library.timeline_props(p, library.find_timeline(p, self._mid))
            else:
                return None
            library.localized(st, props)
            return props if not propertyName else props.get(propertyName)

    def LinkProxyMedia(self, proxyMediaFilePath):
        with store.transaction(write=True) as st:
            if not self._live(st) or st.get("project_manager_open"):
                return False  # an open Project Manager window makes Resolve refuse
            p = library.find_project(st, self._pid)
            clip = p and library.find_clip(p, self._mid)
            if clip is None or not proxy.accepts(clip, proxyMediaFilePath):
                return False  # Resolve gives no reason either
            proxy.link(clip, proxyMediaFilePath)
            return True

    def UnlinkProxyMedia(self):
        with self._project(write=True) as p:
            clip = p and library.find_clip(p, self._mid)
            if clip is None or not clip["props"]["Proxy Media Path"]:
                return False
            proxy.unlink(clip)
            return True


class Timeline(_InProject):
    def __init__(self, pid, generation, tid):
        super().__init__(pid, generation)
        self._tid = tid

    @contextlib.contextmanager
    def _timeline(self):
        with self._project() as p:
            yield p and library.find_timeline(p, self._tid)

    def GetName(self):
        with self._timeline() as t:
            return t and t["name"]

    def GetUniqueId(self):
        with self._timeline() as t:
            return t and t["id"]

    def GetTrackCount(self, trackType):
        with self._timeline() as t:
            return t and len(t["tracks"].get(trackType, ()))

    def GetItemListInTrack(self, trackType, index):
        with self._timeline() as t:
            tracks = t["tracks"].get(trackType, []) if t else []
            if not isinstance(index, int) or not 1 <= index <= len(tracks):
                return None
            return [TimelineItem(self._pid, self._gen, it) for it in tracks[index - 1]]

    def GetItemsInTrack(self, trackType, index):
        """Deprecated: {1.0: item, ...}."""
        return float_keyed(self.GetItemListInTrack(trackType, index))


class TimelineItem(_InProject):
    def __init__(self, pid, generation, item):
        super().__init__(pid, generation)
        self._item = dict(item)  # items have no ids of their own; keep a copy

    def _get(self, key):
        with self._project() as p:
            return p and self._item[key]

    def GetName(self):
        return self._get("name")

    def GetStart(self):
        return self._get("start")

    def GetDuration(self):
        return self._get("duration")

    def GetEnd(self):
        start, duration = self._get("start"), self._get("duration")
        return None if start is None else start + duration

    def GetMediaPoolItem(self):
        with self._project() as p:
            if p is None or self._item["media"] is None:
                return None  # generated items (titles, generators) have none
            return MediaPoolItem(self._pid, self._gen, self._item["media"])
