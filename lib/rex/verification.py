"""Checking one backup, and remembering when each was last proved good.

A backup is good when its sidecar matches and its format reads: a `.backup`
through pg_restore's table of contents (and, with --deep, a real restore), a
`.drp` through the CRC of every ZIP member and a parse of project.xml. A
deduplicated backup (a symlink) is checked through its target. Results go to
a small SQLite file in the state directory, which --older-than consults and
rex-prune uses to protect the newest verified backup.
"""

import os
import time
from dataclasses import dataclass

from . import checksum, errors
from .errors import DataError, RexError
from .statedb import open_db

DB_NAME = "verify.sqlite"


@dataclass
class Outcome:
    path: str
    code: int            # errors.OK, DATAERR, NOINPUT, UNAVAILABLE ...
    reason: str = ""
    md5: str = None
    size: int = None
    mtime: float = None
    skipped: bool = False

    @property
    def ok(self):
        return self.code == errors.OK


class Checker:
    """Checks backups; the format tools (pg_restore, a deep-restore server) are found once."""

    def __init__(self, deep=False, deep_server=None, pg_restore=None, psql=None):
        self.deep = deep
        self.deep_server = deep_server
        self._pg_restore = pg_restore
        self._psql = psql

    @property
    def pg_restore(self):
        if self._pg_restore is None:
            from .pg.tools import newest

            self._pg_restore = newest("pg_restore")
        return self._pg_restore

    @property
    def psql(self):
        if self._psql is None:
            from .pg.tools import sibling

            self._psql = sibling(self.pg_restore, "psql")
        return self._psql

    def check(self, path):
        """Verify one backup; never raises for a bad backup, returns its Outcome."""
        if not os.path.lexists(path):
            return Outcome(path, errors.NOINPUT, _missing(path))
        if not os.path.exists(path):
            return Outcome(path, errors.DATAERR, f"dangling link to {os.readlink(path)}")
        if not os.path.isfile(path):     # 65 like every other "not a backup"; never read (a FIFO would hang)
            if os.path.isdir(path):
                return Outcome(path, errors.DATAERR, "is a directory, not a backup (-r DIR verifies those under it)")
            return Outcome(path, errors.DATAERR, "is not a regular file, not a backup")
        try:
            st = os.stat(path)
            try:
                expected = checksum.read_sidecar(path)
            except FileNotFoundError:
                return Outcome(path, errors.DATAERR, "no sidecar " + os.path.basename(checksum.sidecar_path(path)))
            actual = checksum.md5_file(path)
            if actual != expected:
                return Outcome(path, errors.DATAERR, f"checksum mismatch (sidecar {expected}, file {actual})",
                               actual, st.st_size, st.st_mtime)
            detail = self.check_format(path)
        except RexError as exc:
            return Outcome(path, exc.code, exc.message)
        except OSError as exc:
            return Outcome(path, errors.IOERR, f"read error: {exc.strerror}")
        return Outcome(path, errors.OK, detail, actual, st.st_size, st.st_mtime)

    def check_format(self, path):
        name = path.lower()
        if name.endswith(".backup"):
            from .pg.archive import read_toc

            toc = read_toc(self.pg_restore, path)
            if toc.tables < 1:
                raise DataError(f"{path}: dump lists no table")
            if self.deep:
                from .pg.restore import deep_check

                return deep_check(self.deep_server(), path, self.pg_restore, self.psql)
            return f"{toc.tables} tables"
        if name.endswith(".drp"):
            from .drp import check

            return check(path)
        return "checksum"


def _missing(path):
    """Why `path` is not there: a backup whose sidecar remains is a lost backup, not a typo."""
    side = checksum.sidecar_path(path)
    if os.path.lexists(side):
        return f"backup missing: only its sidecar {os.path.basename(side)} remains"
    return "no such file"


def require_good(path, verify=True):
    """Raise unless `path` may be restored from: it exists, its format reads and (with
    `verify`) its sidecar matches. rex-restore asks before anything is created."""
    from . import log

    checker = Checker()
    if not os.path.lexists(path):
        raise errors.NoInput(f"{path}: no such file")
    if not verify:
        checker.check_format(path)
        return
    outcome = checker.check(path)
    if not outcome.ok:
        raise RexError(f"{path}: {outcome.reason}; nothing restored", code=outcome.code)
    log.info(f"{path}: verified ({outcome.reason})")


class Ledger:
    """When each backup was last verified, and with what result (SQLite, one row per path)."""

    def __init__(self, directory):
        import threading

        # rex-verify looks results up from its worker threads: one connection, one lock.
        self.db = open_db(directory, DB_NAME, "CREATE TABLE IF NOT EXISTS verified (path TEXT PRIMARY KEY, "
                          "size INTEGER, mtime REAL, md5 TEXT, ok INTEGER, checked REAL, reason TEXT)",
                          shared=True)
        self._lock = threading.Lock()

    def _query(self, sql, args):
        with self._lock:
            return self.db.execute(sql, args).fetchone()

    def record(self, outcome, when=None):
        self._query("INSERT OR REPLACE INTO verified VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (os.path.abspath(outcome.path), outcome.size, outcome.mtime, outcome.md5,
                     int(outcome.ok), when or time.time(), outcome.reason))

    def recent_ok(self, path, within):
        """True when `path`, unchanged since, was verified good less than `within` seconds ago."""
        row = self._query("SELECT size, mtime, ok, checked FROM verified WHERE path = ?",
                          (os.path.abspath(path),))
        if not row or not row[2] or time.time() - row[3] > within:
            return False
        try:
            st = os.stat(path)
        except OSError:
            return False
        return st.st_size == row[0] and abs(st.st_mtime - row[1]) < 1e-6

    def last_ok(self, path):
        """Seconds since the epoch of the last good verification of `path`, or None."""
        row = self._query("SELECT checked FROM verified WHERE path = ? AND ok = 1", (os.path.abspath(path),))
        return row[0] if row else None

    def close(self):
        self.db.close()


BACKUP_SUFFIXES = (".backup", ".drp", ".sql")


def walk(root):
    """Every backup under `root`: files with a known suffix or a sidecar, skipping temporaries."""
    from .fsutil import is_temp

    if not os.path.isdir(root):
        yield root
        return
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        names = set(files)
        for name in sorted(files):
            if is_temp(name) or name.endswith(checksum.SUFFIX):
                continue
            if name.endswith(BACKUP_SUFFIXES) or name + checksum.SUFFIX in names:
                yield os.path.join(directory, name)


def lost_under(root):
    """The backups under `root` that are gone while their sidecar remains, by path.

    Such a sidecar may be the only trace of a lost backup, so rex-verify -r reports
    each as missing (66) and nothing deletes it; only a writer removes the sidecar a
    killed run of its own left beside its temporary file (backupset.clean_directory).
    """
    from .fsutil import is_temp

    for directory, dirs, files in os.walk(root):
        dirs.sort()
        names = set(files)
        for name in sorted(files):
            backup = name[:-len(checksum.SUFFIX)]
            if (name.endswith(checksum.SUFFIX) and not is_temp(name) and backup not in names
                    and not os.path.lexists(os.path.join(directory, backup))):
                yield os.path.join(directory, backup)
