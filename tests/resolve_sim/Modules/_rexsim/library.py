"""Data model of the simulated Resolve as plain JSON-able dicts, and lookups in it.

Pure functions only, so the API objects, the test helpers and the .drp reader all
build and search the same shapes.
  state:    running, scripting, product, version, databases, current_db (index),
            current_folder (names), current_project (id), generation (bumped
            whenever the open project is closed or replaced: older handles go stale),
            language (of the UI: "Type" values are localized), export_fails,
            export_delay, project_manager_open, misuse (see base)
  database: DbType, DbName, [IpAddress], root (folder)
  folder:   folders {name: folder}, projects [project]
  project:  id, name, created, modified, settings, media (bin), timelines, current_timeline
  bin:      name, clips [clip], folders [bin]
  clip:     id, props, proxy_offline, [proxy_resolution], [source: probed facts of real media]
  timeline: id, name, created, modified, tracks {video|audio|subtitle: [[item]]},
            [bin: names of the media pool folder holding it; the root when absent]
  item:     name, media (clip id or None for generated items), start, duration
"""
import os
import time
import uuid

SETTINGS = {
    "timelineFrameRate": "24", "timelinePlaybackFrameRate": "24",
    "timelineResolutionWidth": "1920", "timelineResolutionHeight": "1080",
    "colorScienceMode": "davinciYRGB", "superScale": "1",
}
TRACK_TYPES = ("video", "audio", "subtitle")


def uid():
    return str(uuid.uuid4())


def new_folder():
    return {"folders": {}, "projects": []}


def new_bin(name):
    return {"name": name, "clips": [], "folders": []}


def new_project(name, settings=None, now=None):
    now = time.time() if now is None else now
    return {"id": uid(), "name": name, "created": now, "modified": now,
            "settings": dict(SETTINGS, **(settings or {})), "media": new_bin("Master"),
            "timelines": [], "current_timeline": None}


def timecode(frames, fps):
    n = max(1, round(float(fps)))
    return "%02d:%02d:%02d:%02d" % (frames // (3600 * n), frames // (60 * n) % 60,
                                    frames // n % 60, frames % n)


def new_clip(name, path=None, fps=24, frames=240, resolution="1920x1080",
             start_tc="01:00:00:00", audio_ch=2, props=None):
    path = path or "/Volumes/Media/" + name
    n = max(1, round(float(fps)))
    h, m, s, f = (int(x) for x in start_tc.split(":"))
    start = ((h * 60 + m) * 60 + s) * n + f
    p = {"Clip Name": name, "File Name": os.path.basename(path), "File Path": path,
         "FPS": fps, "Frames": str(frames), "Resolution": resolution,
         "Start TC": start_tc, "End TC": timecode(start + frames, fps),
         "Duration": timecode(frames, fps), "Proxy": "None", "Proxy Media Path": "",
         "Type": "Video + Audio", "Format": "QuickTime", "Video Codec": "Apple ProRes 422 HQ",
         "Data Level": "Auto", "H-FLIP": "Off", "V-FLIP": "Off", "Audio Ch": str(audio_ch)}
    p.update(props or {})
    return {"id": uid(), "props": p, "proxy_offline": False}


def new_timeline(name, now=None):
    now = time.time() if now is None else now
    return {"id": uid(), "name": name, "created": now, "modified": now,
            "tracks": {"video": [[]], "audio": [[]], "subtitle": []}}


def new_item(name, media=None, start=86400, duration=240):
    return {"name": name, "media": media, "start": start, "duration": duration}


def _tracks(spec):
    """Clip names for one track (a list of names) or several (a list of lists)."""
    spec = list(spec or ())
    if spec and all(isinstance(t, (list, tuple)) for t in spec):
        return [list(t) for t in spec]
    return [spec]


def add_timeline(project, name, video=(), audio=(), titles=(), bin_path=()):
    """Append a timeline: clips (by clip name or media id) on V1/A1 in order, or on
    V1, V2, ... when VIDEO (AUDIO) is a list of lists; titles on a video track of their own."""
    tl = new_timeline(name)
    tl["bin"] = list(bin_path)
    clips = {}
    for c in iter_clips(project["media"]):
        clips.setdefault(c["props"]["Clip Name"], c)
        clips[c["id"]] = c
    for kind, spec in (("video", video), ("audio", audio)):
        tl["tracks"][kind] = []
        for names in _tracks(spec):
            track, pos = [], 86400
            for n in names:
                frames = int(clips[n]["props"]["Frames"] or 0) or 24
                track.append(new_item(clips[n]["props"]["Clip Name"], clips[n]["id"], pos, frames))
                pos += frames
            tl["tracks"][kind].append(track)
    if titles:
        tl["tracks"]["video"].append([new_item(t, None, 86400 + 24 * i, 24)
                                      for i, t in enumerate(titles)])
    project["timelines"].append(tl)
    project["current_timeline"] = project["current_timeline"] or tl["id"]
    project["modified"] = time.time()
    return tl


def sample_project(name, settings=None):
    """A small but complete project: two clips, a sub-bin, one timeline with a title."""
    p = new_project(name, settings)
    a, b = new_clip("A001_C001.mov"), new_clip("A001_C002.mov", frames=120)
    p["media"]["clips"] += [a, b]
    sub = new_bin("Audio")
    sub["clips"].append(new_clip("Room Tone.wav", props={"Type": "Audio", "Resolution": ""}))
    p["media"]["folders"].append(sub)
    add_timeline(p, "Edit 1", video=["A001_C001.mov", "A001_C002.mov"],
                 audio=["A001_C001.mov"], titles=["Text+"])
    return p


def default_state():
    local, facility = new_folder(), new_folder()
    local["projects"].append(sample_project("Demo"))
    local["folders"]["Jobs"] = jobs = new_folder()
    jobs["projects"].append(sample_project("Demo"))  # same name, other folder
    facility["projects"].append(sample_project("Feature"))
    return {"running": True, "scripting": "Local", "product": "DaVinci Resolve Studio",
            "version": [21, 0, 4, 5, ""],
            "databases": [
                {"DbType": "Disk", "DbName": "Local Database", "root": local},
                {"DbType": "PostgreSQL", "DbName": "facility", "IpAddress": "127.0.0.1",
                 "root": facility}],
            "current_db": 0, "current_folder": [], "current_project": None,
            "generation": 0, "language": "en", "misuse": [],
            "export_fails": None, "export_delay": 0, "project_manager_open": False}


def db_info(db):
    return {k: db[k] for k in ("DbType", "DbName", "IpAddress") if k in db}


def folder_at(folder, path):
    for name in path:
        folder = folder["folders"].get(name) if folder else None
    return folder


def cwd(st):
    return folder_at(st["databases"][st["current_db"]]["root"], st["current_folder"])


def project_named(folder, name):
    return next((p for p in folder["projects"] if p["name"] == name), None)


def walk(folder, path=()):
    """(path, folder) for FOLDER and everything below it."""
    yield path, folder
    for name, sub in folder["folders"].items():
        yield from walk(sub, path + (name,))


def find_project(st, pid):
    for db in st["databases"]:
        for _, folder in walk(db["root"]):
            for p in folder["projects"]:
                if p["id"] == pid:
                    return p
    return None


def iter_clips(bin_):
    yield from bin_["clips"]
    for sub in bin_["folders"]:
        yield from iter_clips(sub)


def bin_at(project, path):
    b = project["media"]
    for name in path:
        b = next((s for s in b["folders"] if s["name"] == name), None) if b else None
    return b


def find_clip(project, mid):
    return next((c for c in iter_clips(project["media"]) if c["id"] == mid), None)


def find_timeline(project, tid):
    return next((t for t in project["timelines"] if t["id"] == tid), None)


def open_project(st, pid):
    """The open project becomes PID (None: none); every older handle goes stale."""
    st["current_project"] = pid
    st["generation"] = st.get("generation", 0) + 1


def timelines_in_bin(project, path):
    return [t for t in project["timelines"] if tuple(t.get("bin") or ()) == tuple(path)]


def timeline_props(project, tl):
    """A timeline seen as a media pool item: no file, no proxy."""
    s = project["settings"]
    fps = float(s.get("timelineFrameRate") or 24)
    fps = int(fps) if fps == int(fps) else fps
    frames = max((it["start"] + it["duration"] for tr in tl["tracks"].values() for track in tr
                  for it in track), default=86400) - 86400
    return {"Clip Name": tl["name"], "Type": "Timeline", "FPS": fps, "Frames": str(frames),
            "Resolution": "%sx%s" % (s.get("timelineResolutionWidth"), s.get("timelineResolutionHeight")),
            "Start TC": "01:00:00:00", "End TC": timecode(86400 + frames, fps),
            "Duration": timecode(frames, fps), "Format": "", "Video Codec": "", "Audio Ch": "2"}


# "Type" as Resolve shows it in other UI languages (the other properties keep their keys).
TYPE_NAMES = {
    "ja": {"Video + Audio": "ビデオ + オーディオ", "Video": "ビデオ", "Audio": "オーディオ",
           "Timeline": "タイムライン", "Generator": "ジェネレーター", "Still": "静止画"},
}


def localized(st, props):
    names = TYPE_NAMES.get(st.get("language", "en"), {})
    if "Type" in props:
        props["Type"] = names.get(props["Type"], props["Type"])
    return props
