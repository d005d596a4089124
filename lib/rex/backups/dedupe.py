"""Keeping one copy of unchanged backups.

A new backup whose *content* equals the previous backup of its set becomes a
relative symlink (or a hard link) to the earlier real file. Content of a .drp is
its canonical digest (volatile parts neutralised, see drp); anything else compares
by MD5. The replacement is atomic (a link made under a temporary name, then
renamed over the file) and journaled, so a run killed midway is finished by the
next: the sidecar is always rewritten to match what the path now holds.
"""

import contextlib
import json
import os

from .. import checksum, errors, fsutil, log
from . import drp
from ..errors import DataError, NoInput
from ..statedb import open_db, path_key

JOURNAL = "dedupe-journal"


class DigestCache:
    """Content digests by (real path, size, mtime, inode): a file is canonicalised once."""

    def __init__(self, directory):
        self.db = open_db(directory, "digests.sqlite", "CREATE TABLE IF NOT EXISTS digest (path TEXT PRIMARY KEY, "
                          "size INTEGER, mtime_ns INTEGER, inode INTEGER, kind TEXT, value TEXT)")

    def content(self, path):
        """The content digest of what `path` holds (following links)."""
        real = os.path.realpath(path)
        key = path_key(real)
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise NoInput(f"{path}: no such file") from None
        kind = "drp" if real.lower().endswith(".drp") else "md5"
        row = self.db.execute("SELECT size, mtime_ns, inode, value FROM digest WHERE path = ? AND kind = ?",
                              (key, kind)).fetchone()
        if row and tuple(row[:3]) == (st.st_size, st.st_mtime_ns, st.st_ino):
            return row[3]
        if kind == "drp":
            value = drp.canonical_digest(real)
        else:
            value = checksum.md5_file(real)
        self.db.execute("INSERT OR REPLACE INTO digest VALUES (?, ?, ?, ?, ?, ?)",
                        (key, st.st_size, st.st_mtime_ns, st.st_ino, kind, value))
        return value

    def close(self):
        self.db.close()


def real_target(path):
    """The real file behind `path` (links followed), which a new link must point to."""
    return os.path.realpath(path)


def relative_link(target, link_path):
    return os.path.relpath(target, os.path.dirname(os.path.abspath(link_path)))


def _journal_dir(state):
    path = os.path.join(state, JOURNAL)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def replace_with_link(path, target, state, hardlink=False):
    """Atomically replace `path` by a link to `target`; rewrite its sidecar. Returns bytes saved."""
    size = os.lstat(path).st_size
    digest = sidecar_digest(target)
    journal = os.path.join(_journal_dir(state), f"{os.getpid()}.json")
    fsutil.write_atomic(journal, json.dumps({"path": os.path.abspath(path)}))
    temp = fsutil.temp_path(path)
    try:
        if hardlink:
            os.link(target, temp)
        else:
            os.symlink(relative_link(target, path), temp)
        os.replace(temp, path)
        fsutil.fsync_dir(os.path.dirname(os.path.abspath(path)))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    checksum.write_sidecar(path, digest)
    os.unlink(journal)
    return size


def sidecar_digest(target):
    """The MD5 of `target`, read afresh and checked against its own sidecar.

    A link must never point at a copy that has rotted since it was written: if
    the target no longer matches its sidecar, DataError, and the new file stays.
    """
    actual = checksum.md5_file(target)
    with contextlib.suppress(FileNotFoundError):
        if checksum.read_sidecar(target) != actual:
            raise DataError(f"{target}: no longer matches its sidecar; not linking to it")
    return actual


def recover(state):
    """Finish replacements interrupted by a kill: make each sidecar match its path."""
    directory = _journal_dir(state)
    repaired = []
    for name in os.listdir(directory):
        entry = os.path.join(directory, name)
        try:
            pid = int(name.split(".")[0])
        except ValueError:
            continue
        if pid != os.getpid() and fsutil._pid_alive(pid):
            continue
        with contextlib.suppress(OSError, ValueError):
            with open(entry) as f:
                path = json.load(f)["path"]
            if os.path.exists(path):
                fsutil.clean_leftovers(os.path.dirname(path))
                checksum.write_sidecar(path, checksum.md5_file(path))
                repaired.append(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry)
    return repaired


def check_readable(path):
    """DataError (65) unless `path` is a backup Rex can read: a regular file or a link
    to one (rex.backups.sets.unusable), and a .drp must be a valid ZIP."""
    from .sets import MISSING, unusable

    why = unusable(path)
    if why == MISSING:
        raise NoInput(f"{path}: no such file")
    if why:
        raise DataError(f"{path}: {why}, not a backup")
    if path.lower().endswith(".drp"):
        drp.check(path)


class Deduper:
    """A run of rex-dedupe: each backup compared with the previous one of its set, under the
    set's job lock (rex-prune may be moving its files), and linked when unchanged. Exit codes
    gather in `codes`; `linked` and `saved` (bytes) count what was done."""

    def __init__(self, state, hardlink=False, dry_run=False, lock_wait=None):
        self.cache, self.state, self.lock_wait = DigestCache(state), state, lock_wait
        self.hardlink, self.dry_run = hardlink, dry_run
        self.codes, self.saved, self.linked = [], 0, 0

    def close(self):
        self.cache.close()

    def one(self, path):
        """Dedupe the backup `path`; True when it is to be passed on (it is a good backup)."""
        from . import sets
        from ..fsutil import job_lock

        try:
            check_readable(path)
            backup = sets.parse(path)
            if backup is None:
                raise DataError(f"{path}: not a backup name (NAME_YYYYMMDDTHHMMSSZ.EXT)")
            if not os.path.islink(path):
                with job_lock(sets.lock_name(backup.set_key), wait=self.lock_wait):
                    earlier = sets.previous(backup)
                    if earlier is not None:
                        self._compare(path, earlier.path)
        except errors.RexError as exc:
            log.error(exc.message)
            self.codes.append(exc.code)
            return False
        self.codes.append(errors.OK)
        return True

    def _compare(self, path, earlier):
        target = real_target(earlier)
        if os.path.samefile(path, target) or not os.path.exists(target):
            return
        content = self.cache.content(path)
        try:
            if content != self.cache.content(target):
                log.debug(f"{path}: changed since {os.path.basename(earlier)}")
                return
            if self.dry_run:
                log.notice(f"would link {path} -> {target}")
                return
            self.saved += replace_with_link(path, target, self.state, hardlink=self.hardlink)
        except DataError as exc:
            # The earlier backup is damaged: report it, and keep the new one (which is
            # good, so it is still passed on) as it is.
            log.error(f"{exc.message}; keeping {path} as it is")
            self.codes.append(exc.code)
            return
        self.linked += 1
        log.info(f"{path}: unchanged since {os.path.basename(target)}; linked")

    def tree(self, root):
        """Dedupe every backup under `root` (rex.backups.sets.walk) but the oldest of each set."""
        from .sets import sets_under

        if not os.path.isdir(root):
            log.error(f"{root}: not a directory")
            self.codes.append(errors.NOINPUT)
            return
        for _key, backups in sorted(sets_under(root).items()):
            for backup in backups[1:]:
                self.one(backup.path)


def human_size(size):
    """`size` bytes for a person: 512 B, 1.5 KiB ... GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
