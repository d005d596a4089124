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

from .. import checksum, errors
from ..errors import DataError, RexError
from ..paths import real_parent
from ..statedb import open_db, path_key

DB_NAME = "verify.sqlite"


@dataclass
class CheckResult:
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
            from ..pg.tools import newest

            self._pg_restore = newest("pg_restore")
        return self._pg_restore

    @property
    def psql(self):
        if self._psql is None:
            from ..pg.tools import sibling

            self._psql = sibling(self.pg_restore, "psql")
        return self._psql

    def check(self, path):
        """Verify one backup; never raises for a bad backup, returns its CheckResult."""
        if not os.path.lexists(path):
            return CheckResult(path, errors.NOINPUT, _missing(path))
        if not os.path.exists(path):
            return CheckResult(path, errors.DATAERR, f"dangling link to {os.readlink(path)}")
        if not os.path.isfile(path):     # 65 like every other "not a backup"; never read (a FIFO would hang)
            if os.path.isdir(path):
                return CheckResult(path, errors.DATAERR,
                                   "is a directory, not a backup (-r DIR verifies those under it)")
            return CheckResult(path, errors.DATAERR, "is not a regular file, not a backup")
        try:
            st = os.stat(path)
            try:
                expected = checksum.read_sidecar(path)
            except FileNotFoundError:
                return CheckResult(path, errors.DATAERR, "no sidecar " + os.path.basename(checksum.sidecar_path(path)))
            actual = checksum.md5_file(path)
            if actual != expected:
                return CheckResult(path, errors.DATAERR, f"checksum mismatch (sidecar {expected}, file {actual})",
                               actual, st.st_size, st.st_mtime)
            detail = self.check_format(path)
        except RexError as exc:
            return CheckResult(path, exc.code, exc.message)
        except OSError as exc:
            return CheckResult(path, errors.IOERR, f"read error: {exc.strerror}")
        return CheckResult(path, errors.OK, detail, actual, st.st_size, st.st_mtime)

    def check_format(self, path):
        name = path.lower()
        if name.endswith(".backup"):
            from ..pg.archive import read_toc

            toc = read_toc(self.pg_restore, path)
            if toc.tables < 1:
                raise DataError(f"{path}: dump lists no table")
            if self.deep:
                from ..pg.restore import deep_check

                return deep_check(self.deep_server(), path, self.pg_restore, self.psql)
            return f"{toc.tables} tables"
        if name.endswith(".drp"):
            from .drp import check

            return check(path)
        return "checksum"


def check_all(paths, checker, ledger, older_than=None, workers=1):
    """The CheckResult of each of `paths`, in their order, `workers` at a time; one that the
    ledger says was verified good within `older_than` seconds, unchanged since, is skipped."""
    from ..parallel import ordered_map

    def check(path):
        if older_than is not None and ledger.recent_ok(path, older_than):
            return CheckResult(path, errors.OK, "verified recently", skipped=True)
        return checker.check(path)

    return ordered_map(check, paths, workers)


class DeepServer:
    """The server for --deep: the one given (host or port), else a scratch cluster started on
    first use, by whichever worker thread needs it first, and removed by close()."""

    def __init__(self, host=None, port=None, username=None, passfile=None):
        import threading

        self.host, self.port, self.username, self.passfile = host, port, username, passfile
        self._lock = threading.Lock()
        self._cluster = None

    def __call__(self):
        from ..pg.server import Server

        if self.host or self.port:
            return Server(self.host, self.port, self.username, self.passfile)
        with self._lock:
            if self._cluster is None:
                from .. import log
                from ..pg.cluster import Cluster

                log.info("starting a scratch PostgreSQL cluster for --deep")
                self._cluster = Cluster().__enter__()
        return self._cluster.server()

    def close(self):
        if self._cluster is not None:
            self._cluster.remove()


def _missing(path):
    """Why `path` is not there: a backup whose sidecar remains is a lost backup, not a typo."""
    side = checksum.sidecar_path(path)
    if os.path.lexists(side):
        return f"backup missing: only its sidecar {os.path.basename(side)} remains"
    return "no such file"


def require_good(path, verify=True):
    """Raise unless `path` may be restored from: it exists, its format reads and (with
    `verify`) its sidecar matches. rex-restore asks before anything is created."""
    from .. import log

    checker = Checker()
    if not os.path.lexists(path):
        raise errors.NoInput(f"{path}: no such file")
    if not verify:
        checker.check_format(path)
        return
    outcome = checker.check(path)
    if not outcome.ok:
        raise RexError(errors.about(path, outcome.reason) + "; nothing restored", code=outcome.code)
    log.info(f"{path}: verified ({outcome.reason})")


def identity(st):
    """What a verification vouches for: this file (device, inode), unchanged (size, mtime_ns)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class VerificationLedger:
    """When each backup was last verified, and with what result (SQLite).

    One row per backup (under paths.real_parent), with the identity of the file then checked. A
    row stands only while that file is unchanged; a backup that has no row of its
    own under the name looked up (a link made by rex-dedupe, a file rex-prune moved
    over a link, a spelling through a link) takes the newest row of the same file.
    """

    def __init__(self, directory):
        import threading

        # rex-verify looks results up from its worker threads: one connection, one lock.
        self.db = open_db(directory, DB_NAME, "CREATE TABLE IF NOT EXISTS checks (path TEXT PRIMARY KEY, "
                          "dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, md5 TEXT, ok INTEGER, "
                          "checked REAL, reason TEXT)",
                          "CREATE INDEX IF NOT EXISTS checks_file ON checks (dev, ino)", shared=True)
        self._lock = threading.Lock()
        _migrate(self.db)

    def _query(self, sql, args, all_rows=False):
        with self._lock:
            cursor = self.db.execute(sql, args)
            return cursor.fetchall() if all_rows else cursor.fetchone()

    def record(self, outcome, when=None):
        """Record a check. The file is identified as it is now, and only when it still has
        the size and mtime the check saw; else the row vouches for nothing."""
        try:
            st = os.stat(outcome.path)
        except OSError:
            st = None
        if st is not None and outcome.size is not None and (
                st.st_size != outcome.size or abs(st.st_mtime - outcome.mtime) > 1e-6):
            st = None                      # changed while being checked
        dev, ino, size, mtime_ns = identity(st) if st is not None else (None,) * 4
        self._query("INSERT OR REPLACE INTO checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (_key(outcome.path), dev, ino, size, mtime_ns, outcome.md5, int(outcome.ok),
                     when or time.time(), outcome.reason))

    def _last(self, path):
        """(ok, checked) of the last check that vouches for the file at `path` as it is now, or None."""
        try:
            now = identity(os.stat(path))
        except OSError:
            return None
        key = _key(path)
        rows = self._query("SELECT path, dev, ino, size, mtime_ns, ok, checked, reason FROM checks "
                           "WHERE path = ? OR (dev = ? AND ino = ?)", (key, now[0], now[1]), all_rows=True)
        row = _standing(rows, key, now)
        return None if row is None else (bool(row[5]), row[6])

    def recent_ok(self, path, within):
        """True when `path`, unchanged since, was verified good less than `within` seconds ago."""
        last = self._last(path)
        return bool(last and last[0] and time.time() - last[1] <= within)

    def last_ok(self, path):
        """Seconds since the epoch of the last good verification of `path` as it is now, or None
        (never verified, changed since, or its last check failed)."""
        last = self._last(path)
        return last[1] if last and last[0] else None

    def close(self):
        self.db.close()


def _standing(rows, key, now):
    """The row that vouches for the file of identity `now` looked up as `key`: its own row,
    else the newest of the same file; None when no row stands (rows as in the table)."""
    standing = [row for row in rows if tuple(row[1:5]) == now]
    own = [row for row in standing if row[0] == key]
    if not standing:
        return None
    return own[0] if own else max(standing, key=lambda r: r[6])


class Snapshot:
    """Every row of the ledger at one moment, for a reader that looks up thousands of
    backups at once (rex-web) with the ledger's own rule (VerificationLedger._last)."""

    def __init__(self, rows):
        self.by_key, self.by_file = {}, {}
        for row in rows:
            self.by_key[row[0]] = row
            self.by_file.setdefault((row[1], row[2]), []).append(row)

    @classmethod
    def read(cls, directory):
        """The ledger in `directory` read without writing to it; empty when there is none."""
        import sqlite3

        path = os.path.join(directory, DB_NAME)
        if not os.path.exists(path):
            return cls(())
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            try:
                return cls(db.execute("SELECT path, dev, ino, size, mtime_ns, ok, checked, reason FROM checks")
                           .fetchall())
            finally:
                db.close()
        except sqlite3.Error as exc:
            if "no such table" not in str(exc):
                from .. import log

                log.warning(f"{path}: cannot read the verification ledger: {exc}; no backup counts as verified")
            return cls(())

    def last(self, key, now):
        """(ok, checked, reason) of the check that vouches for the file of identity `now`
        (see identity) under the row key `key` (see row_key), or None."""
        rows = list(self.by_file.get((now[0], now[1]), ()))
        own = self.by_key.get(key)
        if own is not None and own not in rows:
            rows.append(own)
        row = _standing(rows, key, now)
        return None if row is None else (bool(row[5]), row[6], row[7])


def row_key(real_parent_path):
    """The row key of a backup whose paths.real_parent is `real_parent_path`."""
    return path_key(real_parent_path)


def _key(path):
    """The row key of `path`: its paths.real_parent."""
    return path_key(real_parent(path))


def _migrate(db):
    """Carry over the rows of the ledger before identities (table `verified`, keyed by the
    path as typed): each whose file is still there, unchanged, under its real key."""
    exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'verified'"
    if not db.execute(exists).fetchone():
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute(exists).fetchone():
            for path, size, mtime, md5, ok, checked, reason in db.execute(
                    "SELECT path, size, mtime, md5, ok, checked, reason FROM verified").fetchall():
                try:
                    st = os.stat(path)
                except (OSError, TypeError, ValueError):
                    continue
                if size is None or mtime is None or st.st_size != size or abs(st.st_mtime - mtime) > 1e-6:
                    continue
                db.execute("INSERT INTO checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE "
                           "SET dev = excluded.dev, ino = excluded.ino, size = excluded.size, "
                           "mtime_ns = excluded.mtime_ns, md5 = excluded.md5, ok = excluded.ok, "
                           "checked = excluded.checked, reason = excluded.reason WHERE excluded.checked > checked",
                           (_key(path), *identity(st), md5, ok, checked, reason))
            db.execute("DROP TABLE verified")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def under(root):
    """What rex-verify -r checks under `root`: every backup (rex.backups.sets.walk), each link
    under a backup's name that leads nowhere, and each backup gone while its sidecar remains;
    `root` itself when it is no directory, for the check to say so."""
    from .sets import walk

    if not os.path.isdir(root):
        yield root
        return
    for backup in walk(root, lost=True):
        yield backup.path
    yield from lost_under(root)


def lost_under(root):
    """The backups under `root` that are gone while their sidecar remains, by path.

    Such a sidecar may be the only trace of a lost backup, so rex-verify -r reports
    each as missing (66) and nothing deletes it; only a writer removes the sidecar a
    killed run of its own left beside its temporary file (sets.clean_directory).
    """
    from .sets import directories_under, parse

    for directory, entries in directories_under(root):
        names = {e.name for e in entries}
        for name in sorted(names):
            backup = name[:-len(checksum.SUFFIX)]
            if name.endswith(checksum.SUFFIX) and parse(backup) and backup not in names:
                yield os.path.join(directory, backup)
