"""Every backup set under the backup root, as rex-web shows it: kept in memory and
brought up to date without walking the tree again.

The first look is the one backup walk (backups.sets.directories_under, with the rule of
backups.sets for what a backup is). After that, a look at most every `web.rescan`
seconds stats each known directory: only one whose modification time changed (or that
changed too recently to trust its time) is read again, a new subdirectory is walked, a
vanished one dropped. A request never walks the tree; it reads the sets as they were at
the last look. The ledgers of rex-verify and rex-upload are read again only when their
files changed; a backup whose verification changed is stat'ed again (it may have been
damaged in place, which leaves its directory's time alone).
"""

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field

from . import freshness
from ..backups import sets
from ..backups.verify import Snapshot, row_key
from ..paths import parse_stamp, unsafe_name

RACY_NS = 2_000_000_000      # a directory changed this recently may change again within its time stamp's tick


@dataclass
class _File:
    backup: object           # sets.Backup
    key: object              # its row key in rex-verify's ledger
    rel: str                 # its object path under the remote (rex-upload's ledger), or None
    link: bool               # a symbolic link (rex-dedupe's)
    identity: tuple = None   # verify.identity of the file it ends at; None when it cannot be stat'ed
    size: int = 0


@dataclass
class _Dir:
    mtime_ns: int
    racy: bool
    subdirs: list
    files: list
    summaries: list = field(default_factory=list)


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


def _iso(seconds):
    from ..monitor.history import iso

    return iso(seconds)


class Inventory:
    """The backup sets under `root`, cached (see the module docstring). `state` is the
    state directory holding the ledgers; `remote` the upload target whose proofs count."""

    def __init__(self, root, config=None, state=None, remote=None, clock=time.time):
        self.root = os.path.abspath(root)
        self.clock = clock
        get = config.get if config is not None else (lambda _name: None)
        self.rescan = get("web.rescan")
        self.rescan = 30.0 if self.rescan is None else self.rescan
        self.expect = get("web.expect") or freshness.DEFAULT_EXPECT
        self.factor = get("web.stale_factor") or 2
        self.state = state
        self.remote = remote
        self._lock = threading.Lock()
        self._dirs = None            # {directory: _Dir}
        self._looked = None          # clock() of the last look
        self._ledger_marks = None
        self._verify = Snapshot(())
        self._proved = {}
        self._real_root = None
        self.stats = {"walks": 0, "looks": 0, "dirs_read": 0}
        self._sets = {}              # id -> static summary

    # --- looking at the tree -------------------------------------------------------------

    def refresh(self, force=False):
        """Bring the cache up to date if it is older than web.rescan (or `force`)."""
        with self._lock:
            now = self.clock()
            if self._dirs is not None and not force and now - self._looked < self.rescan:
                return
            self._real_root = os.path.realpath(self.root)
            if self._dirs is None or self.root not in self._dirs:
                changed = self._walk_all()
            else:
                changed = self._look()
            restat = self._read_ledgers()
            if restat is not None:           # ledgers changed: every summary is recomputed
                self._restat(restat)
                changed = set(self._dirs)
            for directory in changed:
                if directory in self._dirs:
                    self._summarise(directory)
            self._sets = {s["id"]: s for d in self._dirs.values() for s in d.summaries}
            self._looked = now

    def _walk_all(self):
        self.stats["walks"] += 1
        self._dirs = {}
        for directory, entries in sets.directories_under(self.root):
            self._dirs[directory] = self._read(directory, entries)
        return set(self._dirs)

    def _look(self):
        """Stat every known directory; read again those that changed. The changed ones."""
        self.stats["looks"] += 1
        changed = set()
        for directory in sorted(self._dirs):
            old = self._dirs.get(directory)
            if old is None:
                continue                     # dropped with its parent
            try:
                st = os.stat(directory)
            except OSError:
                self._drop(directory)
                continue
            if st.st_mtime_ns == old.mtime_ns and not old.racy:
                continue
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                self._drop(directory)
                continue
            new = self._read(directory, entries, st)
            self._dirs[directory] = new
            changed.add(directory)
            for gone in set(old.subdirs) - set(new.subdirs):
                self._drop(gone)
            for added in sorted(set(new.subdirs) - set(old.subdirs)):
                for below, below_entries in sets.directories_under(added):
                    self._dirs[below] = self._read(below, below_entries)
                    changed.add(below)
        return changed

    def _drop(self, directory):
        prefix = directory + os.sep
        for name in [d for d in self._dirs if d == directory or d.startswith(prefix)]:
            del self._dirs[name]

    def _read(self, directory, entries, st=None):
        """A _Dir from the entries of `directory` (sets' rule for what is a backup)."""
        self.stats["dirs_read"] += 1
        if st is None:
            try:
                st = os.stat(directory)
            except OSError:
                st = None
        mtime = st.st_mtime_ns if st is not None else 0
        racy = st is None or time.time_ns() - mtime < RACY_NS
        subdirs = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.path)
            except OSError:
                pass
        links = {e.path for e in entries if _is_link(e)}
        real = os.path.join(os.path.realpath(directory), "")
        rel_dir = self._rel(real)
        files = []
        for backup in sets.backups_among(entries):
            base = os.path.basename(backup.path)
            files.append(self._stat(_File(backup, row_key(real + base),
                                          None if rel_dir is None else rel_dir + base, backup.path in links)))
        return _Dir(mtime, racy, subdirs, files)

    def _rel(self, real_dir):
        """`real_dir` (ending in a separator) under the real root as an upload ledger prefix, or None."""
        root = os.path.join(self._real_root, "")
        if not real_dir.startswith(root):
            return None
        return real_dir[len(root):].replace(os.sep, "/")

    @staticmethod
    def _stat(file):
        from ..backups.verify import identity

        try:
            st = os.stat(file.backup.path)
        except OSError:
            file.identity, file.size = None, 0
        else:
            file.identity, file.size = identity(st), st.st_size
        return file

    # --- the ledgers ---------------------------------------------------------------------------

    def _read_ledgers(self):
        """Read the ledgers again when their files changed: the row keys whose verification
        changed (a set, maybe empty), or None when nothing changed."""
        if self.state is None:
            return None
        from ..backups.verify import DB_NAME as VERIFY_DB
        from ..remote.ledger import DB_NAME as UPLOAD_DB, proved

        marks = tuple(_mark(os.path.join(self.state, name + suffix))
                      for name in (VERIFY_DB, UPLOAD_DB) for suffix in ("", "-wal"))
        if marks == self._ledger_marks:
            return None
        self._ledger_marks = marks
        old = self._verify.by_key
        self._verify = Snapshot.read(self.state)
        self._proved = proved(self.state, self.remote) if self.remote else {}
        return {key for key, row in self._verify.by_key.items() if old.get(key) != row}

    def _restat(self, keys):
        """Stat again the backups whose ledger rows changed."""
        if not keys:
            return
        for entry in self._dirs.values():
            for file in entry.files:
                if file.key in keys:
                    self._stat(file)

    # --- summaries ---------------------------------------------------------------------------

    def _summarise(self, directory):
        entry = self._dirs[directory]
        rel_dir = os.path.relpath(directory, self.root)
        parts = [] if rel_dir == "." else rel_dir.split(os.sep)
        groups = {}
        for file in entry.files:
            groups.setdefault((file.backup.name, file.backup.ext), []).append(file)
        entry.summaries = [self._summary("/".join(parts), parts, name, ext, sorted(files, key=lambda f: f.backup))
                           for (name, ext), files in sorted(groups.items())]

    def _summary(self, rel_dir, parts, name, ext, files):
        kind = kind_of(name, ext)
        server, library, project = placed(kind, parts, name)
        disk = saved = 0
        seen = set()
        verified = uploaded = None
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
            last = self._verify.last(file.key, file.identity) if file.identity is not None else None
            if last is not None and last[0]:
                verified = (file, last[1])
            elif last is not None:
                why = (last[2] or "failed").replace(file.backup.path + ": ", "")     # the name once
                failures.append(f"{os.path.basename(file.backup.path)}: {why}")
            when = self._proved_at(file)
            if when is not None:
                uploaded = (file, when)
        newest = files[-1]
        newest_last = self._verify.last(newest.key, newest.identity) if newest.identity is not None else None
        return {
            "id": set_id(rel_dir, name, ext), "kind": kind, "server": server, "library": library,
            "project": project, "name": unsafe_name(name), "ext": ext, "directory": rel_dir,
            "newest": _iso(parse_stamp(newest.backup.stamp)), "newest_epoch": parse_stamp(newest.backup.stamp),
            "count": len(files), "bytes": disk, "saved_bytes": saved,
            "verified_newest": _iso(parse_stamp(verified[0].backup.stamp)) if verified else None,
            "verified_at": _iso(verified[1]) if verified else None,
            "newest_verified": bool(newest_last and newest_last[0]),
            "verify_failed": bool(failures), "failures": failures,
            "uploaded_newest": _iso(parse_stamp(uploaded[0].backup.stamp)) if uploaded else None,
            "uploaded_at": _iso(uploaded[1]) if uploaded else None,
        }

    def _proved_at(self, file):
        if file.rel is None or not self._proved:
            return None
        from ..remote.rclone import LINK_SUFFIX

        return self._proved.get(file.rel) or self._proved.get(file.rel + LINK_SUFFIX)

    # --- what a request reads -------------------------------------------------------------

    def sets(self):
        """Every set as a dict (see web.status), newest look; never walks the tree."""
        self.refresh()
        now = self.clock()
        return [self._judged(s, now) for s in list(self._sets.values())]

    def get(self, ident):
        """One set by id, or None."""
        self.refresh()
        summary = self._sets.get(ident)
        return None if summary is None else self._judged(summary, self.clock())

    @property
    def looked_at(self):
        return _iso(self._looked) if self._looked is not None else None

    def _judged(self, summary, now):
        out = {k: v for k, v in summary.items() if k not in ("newest_epoch", "newest_verified", "failures")}
        age = max(0.0, now - summary["newest_epoch"])
        interval = freshness.expected(summary["kind"], self.expect)
        state, reasons = freshness.decide(now - summary["newest_epoch"], interval, self.factor,
                                          summary["newest_verified"], summary["failures"])
        out.update(age_s=round(age), expected_s=interval, state=state, reasons=reasons)
        return out


def _is_link(entry):
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _mark(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino
