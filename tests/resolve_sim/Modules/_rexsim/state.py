"""Helpers for tests to arrange the simulated Resolve (also ``python -m _rexsim``).

Each call edits the state file named by $REX_SIM_STATE under its lock, so it is safe
while scripts talk to the simulator. A database is named by DbName, a folder by a
sequence of names from the root (() is the root), a project by db, folder and name.
"""
import time

import os

from . import library, media, store


def _edit():
    return store.transaction(write=True)


def _db(st, db):
    found = next((d for d in st["databases"] if d["DbName"] == db), None)
    if found is None:
        raise KeyError("no database %r" % db)
    return found


def _folder(st, db, folder):
    f = library.folder_at(_db(st, db)["root"], tuple(folder))
    if f is None:
        raise KeyError("no folder %r in %r" % (tuple(folder), db))
    return f


def _project(st, db, folder, name):
    p = library.project_named(_folder(st, db, folder), name)
    if p is None:
        raise KeyError("no project %r in %r %r" % (name, db, tuple(folder)))
    return p


def reset(state=None):
    """Replace the whole state (default: the stock scene from library.default_state)."""
    with _edit() as st:
        st.clear()
        st.update(state or library.default_state())
        store.clear_hooks()


def empty():
    """A running Resolve with one empty Disk database, 'Local Database'."""
    s = library.default_state()
    s["databases"] = [{"DbType": "Disk", "DbName": "Local Database", "root": library.new_folder()}]
    reset(s)


def snapshot():
    with store.transaction() as st:
        return st


def set_running(running=True):
    with _edit() as st:
        st["running"] = bool(running)


def set_scripting(mode="Local"):
    """'Local', 'Network' or 'None' (Preferences > External scripting using)."""
    with _edit() as st:
        st["scripting"] = mode


def set_version(major, minor=0, patch=0, build=0, suffix="", product=None):
    with _edit() as st:
        st["version"] = [int(major), int(minor), int(patch), int(build), suffix]
        st["product"] = product or st.get("product", "DaVinci Resolve Studio")


def set_export_fails(mode=None):
    """None (exports work), 'false' (returns False), or returns True but writes
    'nothing', an 'empty' file, a 'notzip' file, or a 'truncated' zip."""
    assert mode in (None, "false", "nothing", "empty", "notzip", "truncated"), mode
    with _edit() as st:
        st["export_fails"] = mode


def set_export_delay(seconds=0):
    with _edit() as st:
        st["export_delay"] = float(seconds)


def set_date_format(form="iso"):
    """How GetProjectAttributesInCurrentFolder writes dates: 'iso' (ISO 8601 with the local
    offset), 'local' ('YYYY-MM-DD HH:MM:SS' local time), 'epoch' (seconds), or any other
    text, reported as it is for every date."""
    with _edit() as st:
        st["date_format"] = form


def add_database(name, db_type="PostgreSQL", ip="127.0.0.1"):
    with _edit() as st:
        db = {"DbType": db_type, "DbName": name, "root": library.new_folder()}
        if db_type != "Disk":
            db["IpAddress"] = ip
        st["databases"].append(db)


def add_folder(db, folder):
    """Create FOLDER (a sequence of names) and any missing parents."""
    with _edit() as st:
        f = _db(st, db)["root"]
        for name in folder:
            f = f["folders"].setdefault(name, library.new_folder())


def add_project(db, folder, name, sample=True, settings=None):
    """Add a project (a sample one with clips and a timeline, or an empty one); its id."""
    add_folder(db, folder)
    with _edit() as st:
        f = _folder(st, db, folder)
        if library.project_named(f, name):
            raise ValueError("project %r exists" % name)
        p = (library.sample_project if sample else library.new_project)(name, settings)
        f["projects"].append(p)
        return p["id"]


def set_setting(db, folder, name, key, value):
    """Change a project setting (changes its exported content)."""
    with _edit() as st:
        p = _project(st, db, folder, name)
        p["settings"][key] = str(value)
        p["modified"] = time.time()


def set_modified(db, folder, name, when):
    """Set when a project was last modified (epoch seconds), as if edited then."""
    with _edit() as st:
        _project(st, db, folder, name)["modified"] = float(when)


def rename_timeline(db, folder, name, index, new_name):
    """Rename the INDEX-th (1-based) timeline of a project."""
    with _edit() as st:
        p = _project(st, db, folder, name)
        p["timelines"][index - 1]["name"] = new_name
        p["timelines"][index - 1]["modified"] = p["modified"] = time.time()


def add_clip(db, folder, name, clip_name, path=None, bin_path=(), **clip_args):
    """Add a media pool clip (library.new_clip arguments); returns its media id."""
    with _edit() as st:
        p = _project(st, db, folder, name)
        c = library.new_clip(clip_name, path, **clip_args)
        library.bin_at(p, tuple(bin_path))["clips"].append(c)
        p["modified"] = time.time()
        return c["id"]


def add_media_clip(db, folder, name, path, bin_path=(), clip_name=None, fps_text=False, props=None):
    """Import a real media file as Resolve does: its properties from ffprobe; its media id.

    "FPS" is a number such as 23.976 (text with FPS_TEXT), "Audio Ch" the number of
    audio channels; PROPS overrides properties (such as "H-FLIP": "On").
    """
    path = os.path.abspath(path)
    facts = media.probe(path)
    if facts is None:
        raise ValueError("not readable media: %r" % path)
    tc = facts["start_tc"]
    clip = library.new_clip(clip_name or os.path.basename(path), path, fps=float(facts["fps"]),
                            frames=facts["frames"], resolution="%dx%d" % (facts["width"], facts["height"]),
                            start_tc=tc.replace(";", ":"), audio_ch=facts["audio_channels"])
    clip["props"].update({"FPS": media.fps_value(facts["fps"], fps_text), "Start TC": tc,
                          "Format": "QuickTime" if path.lower().endswith(".mov") else "",
                          "Type": "Video + Audio" if facts["audio_streams"] else "Video"})
    clip["props"].update(props or {})
    clip["source"] = {"fps": float(facts["fps"]), "frames": facts["frames"], "start_tc": tc,
                      "audio_streams": facts["audio_streams"]}
    return _add(db, folder, name, bin_path, clip)


def add_generated_clip(db, folder, name, clip_name, bin_path=()):
    """Generated media in the media pool (a Fusion generator, a solid): empty File Path."""
    clip = library.new_clip(clip_name, "/generated")
    clip["props"].update({"File Path": "", "File Name": "", "Format": "", "Video Codec": "",
                          "Audio Ch": "0", "Type": "Generator"})
    return _add(db, folder, name, bin_path, clip)


def _add(db, folder, name, bin_path, clip):
    with _edit() as st:
        p = _project(st, db, folder, name)
        b = library.bin_at(p, tuple(bin_path))
        if b is None:  # create the bins on the way
            b = p["media"]
            for part in bin_path:
                sub = next((s for s in b["folders"] if s["name"] == part), None)
                if sub is None:
                    sub = library.new_bin(part)
                    b["folders"].append(sub)
                b = sub
        b["clips"].append(clip)
        p["modified"] = time.time()
        return clip["id"]


def set_project_manager_open(is_open=True):
    """The Project Manager window is open in the UI (LinkProxyMedia then fails)."""
    with _edit() as st:
        st["project_manager_open"] = bool(is_open)


def set_current_timeline(db, folder, name, timeline_name):
    with _edit() as st:
        p = _project(st, db, folder, name)
        p["current_timeline"] = next(t["id"] for t in p["timelines"] if t["name"] == timeline_name)


def clip_props(db, folder, name, media_id):
    """The stored properties of a clip (without the computed "Proxy")."""
    with store.transaction() as st:
        return dict(library.find_clip(_project(st, db, folder, name), media_id)["props"])


def add_timeline(db, folder, name, timeline_name, video=(), audio=(), titles=(), bin_path=()):
    """Add a timeline cutting clips (names or media ids) on V1/A1, or on several tracks
    when given lists of lists, and titles on a video track of their own, into the media
    pool folder BIN_PATH (names below Master, which must exist); its id."""
    with _edit() as st:
        p = _project(st, db, folder, name)
        if library.bin_at(p, tuple(bin_path)) is None:
            raise KeyError("no media pool folder %r" % (tuple(bin_path),))
        return library.add_timeline(p, timeline_name, video, audio, titles, bin_path)["id"]


def set_current(db=None, folder=None, project=None):
    """Set what the UI shows: database, current folder, open project (by name, in
    that folder; '' closes it)."""
    with _edit() as st:
        if db is not None:
            st["current_db"] = st["databases"].index(_db(st, db))
        if folder is not None:
            _folder(st, st["databases"][st["current_db"]]["DbName"], folder)
            st["current_folder"] = list(folder)
        if project is not None:  # opening (or closing) in the UI makes older handles stale
            library.open_project(st, project and library.project_named(library.cwd(st), project)["id"])


def set_language(language="en"):
    """The UI language: "Type" properties are localized ("ja" shows Japanese names)."""
    assert language == "en" or language in library.TYPE_NAMES, language
    with _edit() as st:
        st["language"] = language


def on_call(call, action, nth=1):
    """Just before the NTH call of CALL ("Class.Method", e.g. "MediaPoolItem.LinkProxyMedia")
    by any script, the user does ACTION in the UI: "reload", "close", "open:NAME" or
    "database:NAME" (see ui.py)."""
    store.add_hook(call, nth, action)


def misuse():
    """Every misuse of the API noted so far (keyword or wrong-count arguments, calls this
    version does not have, deprecated calls), oldest first."""
    with store.transaction() as st:
        return list(st.get("misuse", []))


def clear_misuse():
    with _edit() as st:
        st["misuse"] = []
