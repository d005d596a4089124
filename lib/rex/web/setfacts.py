"""What rex-web says about one backup set, from its files (as the inventory last saw them)
and the ledgers of rex-verify and rex-upload: its kind and place, counts and bytes, the
newest backup verified and proved on the remote, and (at the time asked) its freshness.
"""

import hashlib
import os
from dataclasses import dataclass

from . import freshness
from ..paths import parse_stamp, unsafe_name

HIDDEN = ("newest_epoch", "newest_verified", "failures")    # what judged() needs, not what it says


@dataclass
class File:
    """One backup as the inventory saw it."""
    backup: object           # backups.sets.Backup
    key: object              # its row key in rex-verify's ledger
    rel: str                 # its object path under the remote (rex-upload's ledger), or None
    link: bool               # a symbolic link (rex-dedupe's)
    identity: tuple = None   # verify.identity of the file it ends at; None when it cannot be stat'ed
    size: int = 0


def set_id(rel_dir, name, ext):
    """A stable, URL-safe id of a set: no path in it, so no parameter can reach a file."""
    return hashlib.sha1(f"{rel_dir}\0{name}{ext}".encode("utf-8", "surrogateescape")).hexdigest()[:16]


def kind_of(name, ext):
    ext = ext.lower()
    if ext == ".backup":
        return "dump"
    if ext == ".drp":
        return "export"
    if ext == ".sql" and name == "globals":
        return "globals"
    return "other"


def placed(kind, parts, name):
    """(server, library, project) of a set from its directory under the root (`parts`):
    dumps live in SERVER/LIBRARY, globals in SERVER, exports in LIBRARY/FOLDER.../PROJECT."""
    names = [unsafe_name(p) for p in parts]
    if kind == "dump":
        return (names[0] if len(names) > 1 else None), (names[-1] if names else unsafe_name(name)), None
    if kind == "globals":
        return (names[0] if names else None), None, None
    if kind == "export":
        return None, (names[0] if names else None), unsafe_name(name)
    return None, (names[0] if names else None), None


def order(file):
    """Oldest first: by stamp, then path."""
    return file.backup.stamp, file.backup.path


def summary(rel_dir, parts, name, ext, files, verified_by, proved_by):
    """The facts of one set of `files` (oldest first) in `rel_dir` (its `parts`) that do not
    change with the clock. `verified_by(file)` is rex-verify's (ok, checked, reason) or
    None, `proved_by(file)` when rex-upload last proved it on the remote, or None."""
    kind = kind_of(name, ext)
    server, library, project = placed(kind, parts, name)
    disk = saved = 0
    seen = set()
    verified = uploaded = last = None
    failures = []
    for file in files:
        if file.link:
            saved += file.size
        elif file.identity is not None and file.identity[:2] in seen:
            saved += file.size           # another hard link of a file already counted
        else:
            disk += file.size
            if file.identity is not None:
                seen.add(file.identity[:2])
        last = verified_by(file)
        if last is not None and last[0]:
            verified = (file, last[1])
        elif last is not None:
            why = (last[2] or "failed").replace(file.backup.path + ": ", "")     # the name once
            failures.append(f"{os.path.basename(file.backup.path)}: {why}")
        when = proved_by(file)
        if when is not None:
            uploaded = (file, when)
    newest = files[-1]
    return {
        "id": set_id(rel_dir, name, ext), "kind": kind, "server": server, "library": library,
        "project": project, "name": unsafe_name(name), "ext": ext, "directory": rel_dir,
        "newest": _iso(parse_stamp(newest.backup.stamp)), "newest_epoch": parse_stamp(newest.backup.stamp),
        "count": len(files), "bytes": disk, "saved_bytes": saved,
        "verified_newest": _iso(parse_stamp(verified[0].backup.stamp)) if verified else None,
        "verified_at": _iso(verified[1]) if verified else None,
        "newest_verified": bool(last and last[0]),       # `last` is the newest file's
        "verify_failed": bool(failures), "failures": failures,
        "uploaded_newest": _iso(parse_stamp(uploaded[0].backup.stamp)) if uploaded else None,
        "uploaded_at": _iso(uploaded[1]) if uploaded else None,
    }


def judged(facts, now, expect, factor):
    """The set as rex-web says it at `now`: its facts, its age, and its freshness."""
    out = {k: v for k, v in facts.items() if k not in HIDDEN}
    interval = freshness.expected(facts["kind"], expect)
    state, reasons = freshness.decide(now - facts["newest_epoch"], interval, factor, facts["newest_verified"],
                                      facts["failures"])
    out.update(age_s=round(max(0.0, now - facts["newest_epoch"])), expected_s=interval, state=state,
               reasons=reasons)
    return out


def _iso(seconds):
    from ..monitor.history import iso

    return iso(seconds)
