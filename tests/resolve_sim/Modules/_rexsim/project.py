"""Project and what hangs off it: media pool, bins, clips, timelines, timeline items.

Objects hold ids, not data, and look them up on each call; like Resolve's handles they
go dead (every call returns None) once their project is no longer the open one.
"""
import contextlib
import time

from . import library, proxy, store
from .base import SimObject


class _InProject(SimObject):
    def __init__(self, pid):
        self._pid = pid

    @contextlib.contextmanager
    def _project(self, write=False):
        """Yield the open project (None when this handle's project is closed)."""
        with store.transaction(write) as st:
            live = st["current_project"] == self._pid
            yield library.find_project(st, self._pid) if live else None


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
            return Timeline(self._pid, p["timelines"][idx - 1]["id"])

    def GetCurrentTimeline(self):
        with self._project() as p:
            if p is None or not library.find_timeline(p, p["current_timeline"]):
                return None
            return Timeline(self._pid, p["current_timeline"])

    def SetCurrentTimeline(self, timeline):
        with self._project(write=True) as p:
            if p is None or not isinstance(timeline, Timeline) or timeline._pid != self._pid \
                    or not library.find_timeline(p, timeline._tid):
                return False
            p["current_timeline"] = timeline._tid
            return True

    def GetMediaPool(self):
        with self._project() as p:
            return p and MediaPool(self._pid)


class MediaPool(_InProject):
    def GetRootFolder(self):
        with self._project() as p:
            return p and Folder(self._pid, ())


class Folder(_InProject):
    def __init__(self, pid, path):
        super().__init__(pid)
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
            return b and [MediaPoolItem(self._pid, c["id"]) for c in b["clips"]]

    def GetSubFolderList(self):
        with self._project() as p:
            b = self._bin(p)
            return b and [Folder(self._pid, self._path + (s["name"],)) for s in b["folders"]]


class MediaPoolItem(_InProject):
    def __init__(self, pid, mid):
        super().__init__(pid)
        self._mid = mid

    def GetName(self):
        return self.GetClipProperty("Clip Name")

    def GetMediaId(self):
        with self._project() as p:
            return p and library.find_clip(p, self._mid) and self._mid

    def GetClipProperty(self, propertyName=None):
        with self._project(write=True) as p:  # reading can latch a proxy offline
            clip = p and library.find_clip(p, self._mid)
            if clip is None:
                return None
            props = dict(clip["props"], Proxy=proxy.status(clip))
            return props if not propertyName else props.get(propertyName)

    def LinkProxyMedia(self, proxyMediaFilePath):
        with store.transaction(write=True) as st:
            if st["current_project"] != self._pid or st.get("project_manager_open"):
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
    def __init__(self, pid, tid):
        super().__init__(pid)
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
            return [TimelineItem(self._pid, it) for it in tracks[index - 1]]


class TimelineItem(_InProject):
    def __init__(self, pid, item):
        super().__init__(pid)
        self._item = dict(item)  # items have no ids of their own; keep a copy

    def GetName(self):
        return self._item["name"]

    def GetStart(self):
        return self._item["start"]

    def GetDuration(self):
        return self._item["duration"]

    def GetEnd(self):
        return self._item["start"] + self._item["duration"]

    def GetMediaPoolItem(self):
        with self._project() as p:
            if p is None or self._item["media"] is None:
                return None  # generated items (titles, generators) have none
            return MediaPoolItem(self._pid, self._item["media"])
