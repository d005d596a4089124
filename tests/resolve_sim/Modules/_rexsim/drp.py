"""Project files (.drp) as Resolve 21 writes them, and reading them back for ImportProject.

A ZIP of XML: project.xml (SM_Project), MediaPool/Master/**/MpFolder.xml,
SeqContainer/<DbId>.xml per timeline, Gallery.xml with stills. As in the real files,
tags contain '::' (not namespace-valid), every DbId is fresh on each export, save
and age times are "now", and members carry the export time, so two exports of an
unchanged project never match byte for byte. Settings and clip properties travel
in hex FieldsBlobs (length-prefixed UTF-16BE pairs).
"""
import io
import json
import struct
import time
import uuid
import xml.parsers.expat
import zipfile
from xml.sax.saxutils import escape

from . import library

TRACK_TAGS = {"video": "VideoTrackVec", "audio": "AudioTrackVec", "subtitle": "SubtitleTrackVec"}
SYS_ID = "02005E5E0001"


def _blob(pairs):
    out = struct.pack(">II", 1, len(pairs))
    for k, v in pairs:
        for s in (k, json.dumps(v, ensure_ascii=False)):
            b = s.encode("utf-16-be")
            out += struct.pack(">I", len(b)) + b
    return out.hex()


def _unblob(text):
    """Pairs from one of our blobs; [] for Resolve's own (different, opaque) ones."""
    pairs, pos = [], 8
    try:
        b = bytes.fromhex(text or "")
        for _ in range(struct.unpack_from(">I", b, 4)[0] if len(b) >= 8 else 0):
            kv = []
            for _ in range(2):
                n = struct.unpack_from(">I", b, pos)[0]
                kv.append(b[pos + 4:pos + 4 + n].decode("utf-16-be"))
                pos += 4 + n
            pairs.append((kv[0], json.loads(kv[1])))
    except (ValueError, struct.error):
        return []
    return pairs


def _render(node, depth, out):
    tag, dbid, body = node  # body: None/"" (empty), text, or a list of child nodes
    pad, attr = " " * depth, ' DbId="%s"' % dbid if dbid else ""
    if body is None or body == "" or body == []:
        out.append("%s<%s%s/>" % (pad, tag, attr))
    elif isinstance(body, list):
        out.append("%s<%s%s>" % (pad, tag, attr))
        for kid in body:
            _render(kid, depth + 1, out)
        out.append("%s</%s>" % (pad, tag))
    else:
        out.append("%s<%s%s>%s</%s>" % (pad, tag, attr, escape(str(body)), tag))


def _el(tag, body=None, dbid=None):
    return (tag, dbid, body)


def _elements(nodes):
    return [_el("Element", [n]) for n in nodes]


class _Export:
    """One export: fresh DbIds (stable per key within it) and one 'now'."""

    def __init__(self, project, version, now):
        self.p, self.now, self.ids = project, now, {}
        self.head = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                     '<!--DbAppVer="%d.%d.%d.%04d" DbPrjVer="17"-->\n' % tuple(version[:4]))
        self.saved = str(int((now - project["created"]) * 1000))  # DbSavedTime, age in ms
        self.clips = {c["id"]: c for c in library.iter_clips(project["media"])}

    def id(self, *key):
        return self.ids.setdefault(key, str(uuid.uuid4())) if key else str(uuid.uuid4())

    def doc(self, node):
        out = []
        _render(node, 0, out)
        return (self.head + "\n".join(out) + "\n").encode("utf-8")

    def project(self):
        p = self.p
        cur = next((i for i, t in enumerate(p["timelines"]) if t["id"] == p["current_timeline"]), 0)
        config = _el("SM_Config", [
            _el("FieldsBlob", _blob(sorted(p["settings"].items()))), _el("Name", p["name"] + ".Cfg"),
            _el("LockSysId"), _el("DbSavedTime", self.saved),
            _el("MultiSysData", [_el("Sm2MultiSysData", [_el("FieldsBlob"), _el("LockSysId"),
                                                         _el("DbSavedTime", self.saved)], self.id())])],
            self.id())
        return _el("SM_Project", [
            _el("FieldsBlob"), _el("LockId"), _el("Folder"), _el("UserId", "-1"), _el("SysId", SYS_ID),
            _el("ProjectId", "0"), _el("UpToDate", "true"),
            _el("LastModTimeInSecs", int(self.now)), _el("ProjectAgeInMs", self.saved),
            _el("ProjectName", p["name"]), _el("FolderMap"), _el("TimelineVec"),
            _el("TimelineHandleVec", [_el("Element", self.id("tl", t["id"])) for t in p["timelines"]]),
            _el("CurrentTimelineIndex", cur), _el("CommonConfig", [config]),
            _el("IsAutoSave", "false"),
            _el("MediaPool", [_el("Sm2MediaPool", [_el("FieldsBlob"), _el("SmartFolderVec"),
                                                  _el("StereoSource", "2")], self.id("pool"))]),
            _el("ProjectVersion", "17"),
            _el("PowerNodeList", [_el("ListMgt::LmPowerNodeList", [
                _el("FieldsBlob"), _el("PowerNodes"), _el("LockSysId"), _el("DbSavedTime", "0")],
                self.id())]),
            _el("Notes")], self.id())

    def clip(self, c, folder_id):
        return _el("Sm2MpVideoClip", [
            _el("FieldsBlob"), _el("Name", c["props"]["Clip Name"]), _el("MpFolder", folder_id),
            _el("UniqueMediaPoolItemId", c["id"]), _el("AudioSource", "AUDIO_SOURCE_EMBEDDED"),
            _el("Video", [_el("BtVideoInfo", [
                _el("FieldsBlob"), _el("Clip", _blob(sorted(c["props"].items()))),
                _el("Type", "STANDARD_CLIP"), _el("Eye", "SUB_TRACK_MONO")], self.id())])],
            self.id("clip", c["id"]))

    def timeline_clip(self, t, folder_id):
        tl_id = self.id("tl", t["id"])
        seq = _el("Sm2Sequence", [
            _el("FieldsBlob"), _el("UniqueSequenceId", t["id"]), _el("VideoTrackVec"),
            _el("AudioTrackVec"), _el("Parent", tl_id), _el("LastChangedTime", "0"),
            _el("LockSysId"), _el("DbSavedTime", self.saved)], self.id("seq", t["id"]))
        timeline = _el("Sm2Timeline", [
            _el("FieldsBlob"), _el("Name", t["name"]), _el("MpTimelineClip", self.id("tlclip", t["id"])),
            _el("Sequence", [seq]), _el("Type", "0"), _el("ModTimeInSecs", int(self.now)),
            _el("CreateTimeInSecs", int(t["created"]))], tl_id)
        return _el("Sm2MpTimelineClip", [
            _el("FieldsBlob"), _el("Name", t["name"]), _el("MpFolder", folder_id),
            _el("UniqueMediaPoolItemId", str(uuid.uuid5(uuid.NAMESPACE_OID, t["id"]))),
            _el("TimelineSharedHandle", [timeline])], self.id("tlclip", t["id"]))

    def bins(self, b, path=(), parent=None):
        """(member name, document) for bin B and every bin below it."""
        fid = self.id("bin", *path)
        media = [self.clip(c, fid) for c in b["clips"]]
        media += [self.timeline_clip(t, fid) for t in self.p["timelines"]] if not path else []
        body = [_el("FieldsBlob"), _el("Name", b["name"])] + (
            [_el("ParentFolder", parent)] if parent else []) + [
            _el("MediaVec", _elements(media)), _el("MediaPool", self.id("pool")),
            _el("Folded", "true"), _el("ColorTag", "FOLDER_COLOR_NONE"), _el("LockSysId"),
            _el("DbSavedTime", self.saved)]
        segs = [s.replace("/", "%2F") for s in ("Master",) + path]
        yield "MediaPool/%s/MpFolder.xml" % "/".join(segs), _el("Sm2MpFolder", body, fid)
        for sub in b["folders"]:
            yield from self.bins(sub, path + (sub["name"],), fid)

    def item(self, it, kind):
        body = [_el("FieldsBlob"), _el("Name", it["name"]), _el("Start", it["start"]),
                _el("Duration", it["duration"])]
        if it["media"] is None:
            return _el("Sm2TiGeneratorClip", body + [_el("LastChangedTime", "0")], self.id())
        path = self.clips.get(it["media"], {"props": {}})["props"].get("File Path", "")
        return _el("Sm2TiAudioClip" if kind == "audio" else "Sm2TiVideoClip", body + [
            _el("MediaRef", self.id("clip", it["media"])), _el("MediaStartTime", "0"),
            _el("MediaFilePath", path), _el("LastChangedTime", "0"), _el("LastRenderedTime", "0")],
            self.id())

    def sequence(self, t):
        seq = self.id("seq", t["id"])
        vecs = [_el(tag, _elements(_el("Sm2TiTrack", [
            _el("FieldsBlob"), _el("Type", i), _el("Sequence", seq),
            _el("Items", _elements(self.item(it, kind) for it in track))], self.id())
            for track in t["tracks"].get(kind, [])))
            for i, (kind, tag) in enumerate(TRACK_TAGS.items())]
        sid = self.id()
        return "SeqContainer/%s.xml" % sid, _el("Sm2SequenceContainer", [_el("FieldsBlob")] + vecs, sid)

    def gallery(self):
        """The gallery: one (empty) album view and the memory stills, one per letter A-Z."""
        view = _el("Gallery::GyView", [_el("FieldsBlob"), _el("Stills"), _el("OneStillPerScene", "false"),
                                      _el("TraceTimeline", "false"), _el("SortType", "0"), _el("ViewName"),
                                      _el("LockSysId"), _el("DbSavedTime", self.saved)], self.id())
        memories = _elements(_el("Gallery::GyStillRef", [
            _el("FieldsBlob"), _el("Label"), _el("TrackIdx", "0"), _el("SceneIdx", "0"), _el("CreateTime"),
            _el("Type", "0"), _el("MasterHint"), _el("Ref0"), _el("Ref1")], self.id()) for _ in range(26))
        return _el("Gallery::GyGallery", [
            _el("FieldsBlob"), _el("Views", [_el("Element", [view])]),
            _el("MemoryView", [_el("Gallery::GyMemView", [_el("FieldsBlob"), _el("Memories", memories)],
                                   self.id())]),
            _el("LockSysId"), _el("DbSavedTime", self.saved)], self.id())


def build(project, version, stills=True, now=None):
    """The bytes of a .drp for PROJECT (a library dict) exported now."""
    x = _Export(project, version, time.time() if now is None else now)
    members = [("project.xml", x.project())] + list(x.bins(project["media"]))
    members += sorted(x.sequence(t) for t in project["timelines"])
    members += [("Gallery.xml", x.gallery())] if stills else []
    buf, stamp = io.BytesIO(), time.localtime(x.now)[:6]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, node in members:
            zf.writestr(zipfile.ZipInfo(name, stamp), x.doc(node), zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def parse(data):
    """XML bytes -> {tag, attrs, kids, text}, without namespace processing (tags keep '::')."""
    root = {"kids": []}
    stack = [root]
    p = xml.parsers.expat.ParserCreate()

    def start(tag, attrs):
        node = {"tag": tag, "attrs": attrs, "kids": [], "text": ""}
        stack[-1]["kids"].append(node)
        stack.append(node)

    p.StartElementHandler = start
    p.EndElementHandler = lambda tag: stack.pop()
    p.CharacterDataHandler = lambda s: stack[-1].__setitem__("text", stack[-1]["text"] + s)
    p.Parse(data, True)
    return root["kids"][0]


def _all(node, tag):
    for kid in node["kids"]:
        if kid["tag"] == tag:
            yield kid
        yield from _all(kid, tag)


def _text(node, tag):
    return next((k["text"] for k in node["kids"] if k["tag"] == tag), "")


def read(path):
    """A new library project from a .drp, or None when it is not a readable one."""
    try:
        with zipfile.ZipFile(path) as zf:
            docs = {n: parse(zf.read(n)) for n in zf.namelist() if n.endswith(".xml")}
    except (OSError, zipfile.BadZipFile, xml.parsers.expat.ExpatError, IndexError):
        return None
    try:
        return _project(docs)
    except (KeyError, ValueError, StopIteration, struct.error):
        return None


def _project(docs):
    prj = docs["project.xml"]
    if prj["tag"] != "SM_Project":
        return None
    p = library.new_project(_text(prj, "ProjectName"))
    p["settings"].update(_unblob(_text(next(_all(prj, "SM_Config")), "FieldsBlob")))
    bins, clip_ids, timelines, by_seq = {}, {}, {}, {}
    for name in sorted((n for n in docs if n.endswith("MpFolder.xml")), key=lambda n: n.count("/")):
        f = docs[name]
        b = library.new_bin(_text(f, "Name")) if bins else p["media"]
        bins[f["attrs"]["DbId"]] = b
        if _text(f, "ParentFolder") in bins:
            bins[_text(f, "ParentFolder")]["folders"].append(b)
        for c in _all(f, "Sm2MpVideoClip"):
            props = library.new_clip(_text(c, "Name"))["props"]  # Resolve's blobs are opaque:
            props.update(_unblob(_text(next(_all(c, "BtVideoInfo")), "Clip")))  # defaults
            clip = {"id": _text(c, "UniqueMediaPoolItemId"), "props": props, "proxy_offline": False}
            b["clips"].append(clip)
            clip_ids[c["attrs"]["DbId"]] = clip["id"]
        for t in _all(f, "Sm2Timeline"):
            tl = library.new_timeline(_text(t, "Name"), float(_text(t, "CreateTimeInSecs") or 0))
            tl["tracks"] = {k: [] for k in TRACK_TAGS}
            timelines[t["attrs"]["DbId"]] = tl
            by_seq[next(_all(t, "Sm2Sequence"))["attrs"]["DbId"]] = tl
    for name, doc in sorted(docs.items()):
        for kind, tag in TRACK_TAGS.items() if name.startswith("SeqContainer/") else ():
            for track in (t for vec in _all(doc, tag) for t in _all(vec, "Sm2TiTrack")):
                items = [library.new_item(_text(i, "Name"), clip_ids.get(_text(i, "MediaRef")),
                                          int(_text(i, "Start")), int(_text(i, "Duration")))
                         for its in track["kids"] if its["tag"] == "Items"
                         for e in its["kids"] for i in e["kids"]]
                if _text(track, "Sequence") in by_seq:
                    by_seq[_text(track, "Sequence")]["tracks"][kind].append(items)
    handles = [e["text"] for h in _all(prj, "TimelineHandleVec") for e in h["kids"]]
    p["timelines"] = [timelines[h] for h in handles if h in timelines]
    cur = int(_text(prj, "CurrentTimelineIndex") or 0)
    p["current_timeline"] = p["timelines"][cur]["id"] if cur < len(p["timelines"]) else None
    return p

