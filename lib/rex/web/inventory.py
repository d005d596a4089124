"""Every backup set under the backup root, as rex-web shows it: kept in memory and
brought up to date without walking the tree again.

The first look is the one backup walk (backups.sets.directories_under, with the rule of
backups.sets for what a backup is). After that, two things keep the cache: inotify (where
there is one, see web.watch) names the directories that changed, and each request reads
those again; and a look at most every `web.rescan` seconds stats each known directory, to
read again one whose modification time changed (or that changed too recently to trust its
time) -- the whole keeping without inotify, a safety net with it. A new subdirectory is
walked, a vanished one dropped. A request never walks the tree. The ledgers of rex-verify
and rex-upload are read again only when their files changed; a backup whose verification
changed is stat'ed again (it may have been damaged in place, which leaves its directory's
time alone).
"""

import os
import threading
import time
from dataclasses import dataclass, field

from . import freshness
from .setfacts import File, judged, order, summary
from ..backups import sets
from ..backups.verify import Snapshot, row_key

RACY_NS = 2_000_000_000      # a directory changed this recently may change again within its time stamp's tick


@dataclass
class _Dir:
    mtime_ns: int
    racy: bool
    subdirs: list
    files: list
    summaries: list = field(default_factory=list)


CONFIGURED = object()        # state and remote: as the configuration says


def configured_remote(config):
    """The upload target whose proofs count (upload.remote, checked), or None (unset or invalid)."""
    value = config.get("upload.remote") if config is not None else None
    if not value:
        return None
    from ..remote.rclone import check_remote

    try:
        return check_remote(value)
    except ValueError:
        return None


class Inventory:
    """The backup sets under `root`, cached (see the module docstring). `state` is the
    state directory holding the ledgers (None: no ledger), `remote` the upload target whose
    proofs count (None: none); by default both as `config` and the environment say."""

    def __init__(self, root, config=None, state=CONFIGURED, remote=CONFIGURED, clock=time.time, watch=True):
        self.root = os.path.abspath(root)
        self.clock = clock
        get = config.get if config is not None else (lambda _name: None)
        self.rescan = get("web.rescan")
        self.rescan = 30.0 if self.rescan is None else self.rescan
        self.expect = get("web.expect") or freshness.DEFAULT_EXPECT
        self.factor = get("web.stale_factor") or 2
        if state is CONFIGURED:
            from ..paths import state_dir

            state = state_dir()
        self.state = state
        self.remote = configured_remote(config) if remote is CONFIGURED else remote
        self._lock = threading.Lock()
        self._dirs = None            # {directory: _Dir}
        self._looked = None          # clock() of the last look
        self._ledger_marks = None
        self._verify = Snapshot(())
        self._proved = {}
        self._real_root = None
        self.stats = {"walks": 0, "looks": 0, "dirs_read": 0}
        self._sets = {}              # id -> static summary
        self._sets_of = set()        # the directories _sets was made from
        self._judged_cache = None    # (second, [judged sets]): ages move by the second
        self.watch = watch           # inotify where it is available
        self._watcher = None

    # --- looking at the tree -------------------------------------------------------------

    def refresh(self, force=False):
        """Bring the cache up to date: the directories inotify named since the last request,
        and every directory (by its time) once the last look is older than web.rescan (or
        with `force`)."""
        with self._lock:
            now = self.clock()
            due = self._dirs is None or force or now - self._looked >= self.rescan
            if not due and self._watcher is None:
                return
            self._real_root = os.path.realpath(self.root)
            news = self._watcher.changed() if self._watcher is not None else set()
            if news is None:                 # the kernel dropped events: look at everything
                due = True
            if self._dirs is None or (due and self.root not in self._dirs):
                changed = self._walk_all()
            elif self.root not in self._dirs:
                changed = set()              # no tree yet: looked for again at the next look
            elif due:
                changed = self._reread(sorted(d for d in news or () if d in self._dirs))
                changed |= self._look()
            else:
                changed = self._reread(sorted(d for d in news if d in self._dirs))
            restat = self._read_ledgers() if due or (news and self.state in news) else None
            if restat is not None:           # ledgers changed: every summary is recomputed
                self._restat(restat)
                changed = set(self._dirs)
            for directory in changed:
                if directory in self._dirs:
                    self._summarise(directory)
            if changed or len(self._sets_of) != len(self._dirs):
                self._sets = {s["id"]: s for d in self._dirs.values() for s in d.summaries}
                self._sets_of = set(self._dirs)
                self._judged_cache = None
            if due:
                self._looked = now

    def close(self):
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None

    def _walk_all(self):
        """The one walk, each directory watched (inotify) as soon as it is found."""
        self.stats["walks"] += 1
        self.close()
        if self.watch:
            self._start_watching()
        self._dirs = {}
        for directory, entries in sets.directories_under(self.root):
            self._watch(directory)
            self._dirs[directory] = self._read(directory, entries)
        return set(self._dirs)

    def _start_watching(self):
        """An inotify watcher, watching the state directory (the ledgers); without one (no
        inotify) the looks at web.rescan alone keep the cache."""
        from .watch import Unavailable, Watcher

        try:
            self._watcher = Watcher()
            if self.state and os.path.isdir(self.state):
                self._watcher.add(self.state)
        except Unavailable as exc:
            self.close()
            self.watch = False
            from .. import log

            log.info(f"no inotify ({exc}); the backup tree is looked at every {self.rescan:g} s")

    def _watch(self, directory):
        if self._watcher is not None:
            from .watch import Unavailable

            try:
                self._watcher.add(directory)
            except Unavailable:
                self.close()                 # the watch limit: looks alone from now on,
                self.watch = False
                self._looked = float("-inf")   # the first at the next request

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
            if st.st_mtime_ns != old.mtime_ns or old.racy:
                changed |= self._reread([directory], st)
        return changed

    def _reread(self, directories, st=None):
        """Read `directories` again (walking new subdirectories, dropping vanished ones);
        the directories read."""
        changed = set()
        for directory in directories:
            old = self._dirs.get(directory)
            if old is None:
                continue
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                self._drop(directory)
                continue
            new = self._read(directory, entries, st, watched=self._watcher is not None)
            self._dirs[directory] = new
            changed.add(directory)
            for gone in set(old.subdirs) - set(new.subdirs):
                self._drop(gone)
            for added in sorted(set(new.subdirs) - set(old.subdirs)):
                for below, below_entries in sets.directories_under(added):
                    self._dirs[below] = self._read(below, below_entries)
                    self._watch(below)
                    changed.add(below)
        return changed

    def _drop(self, directory):
        prefix = directory + os.sep
        for name in [d for d in self._dirs if d == directory or d.startswith(prefix)]:
            del self._dirs[name]
            if self._watcher is not None:
                self._watcher.remove(name)

    def _read(self, directory, entries, st=None, watched=False):
        """A _Dir from the entries of `directory` (sets' rule for what is a backup). One
        `watched` by inotify since before it was read needs no second read for a time too
        recent to trust: inotify tells of any change after."""
        self.stats["dirs_read"] += 1
        if st is None:
            try:
                st = os.stat(directory)
            except OSError:
                st = None
        mtime = st.st_mtime_ns if st is not None else 0
        racy = st is None or (not watched and time.time_ns() - mtime < RACY_NS)
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
            files.append(self._stat(File(backup, row_key(real + base),
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
        entry.summaries = [summary("/".join(parts), parts, name, ext, sorted(files, key=order), self._verified,
                                   self._proved_at)
                           for (name, ext), files in sorted(groups.items())]

    def _verified(self, file):
        return self._verify.last(file.key, file.identity) if file.identity is not None else None

    def _proved_at(self, file):
        if file.rel is None or not self._proved:
            return None
        from ..remote.rclone import LINK_SUFFIX

        return self._proved.get(file.rel) or self._proved.get(file.rel + LINK_SUFFIX)

    # --- what a request reads -------------------------------------------------------------

    def sets(self):
        """Every set as a dict (see web.setfacts), as of the last look and inotify's news;
        never walks the tree. The dicts are shared by every caller within a second: read them,
        never change them."""
        self.refresh()
        now = self.clock()
        cached = self._judged_cache
        if cached is None or cached[0] != int(now):
            cached = self._judged_cache = (int(now), [judged(s, now, self.expect, self.factor)
                                                      for s in list(self._sets.values())])
        return list(cached[1])

    def get(self, ident):
        """One set by id, or None."""
        self.refresh()
        summary = self._sets.get(ident)
        return None if summary is None else judged(summary, self.clock(), self.expect, self.factor)

    @property
    def looked_at(self):
        from ..monitor.history import iso

        return iso(self._looked) if self._looked is not None and self._looked > 0 else None

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
