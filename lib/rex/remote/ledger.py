"""When each remote copy was last proved good by its md5, so that a nightly
`rex-upload --sync` need not re-hash (sftp) or re-download (no hashes) terabytes
it proved good the night before.

One row per remote object (remote as given, object path under it): the size and
md5 it was checked against, the local file's mtime_ns and inode then, and when.
An object is trusted (`trusted`) only while its local source is unchanged, the
md5 it must have is the same, the check is younger than the window, and this run
did not copy it; a trusted object is still listed, so a copy deleted or cut short
on the remote is caught, but its bytes are not read. The trade-off: damage in
place that keeps the size goes unseen until the window runs out (or --check).

A check that fails keeps the row but clears its time (never trusted again until
proved anew): the ledger still says that this content was once good on the remote,
so a copy found missing later is a repair, sent only from a local file that still
matches its sidecar, never a new upload of whatever the local disk holds.
"""

import time

DB_NAME = "upload.sqlite"


def fingerprint(st):
    """What tells a local file changed: (size, mtime_ns, inode), as stat gives them."""
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def trusted(want, rows, copied, window, now):
    """{rel: verified-at} of the wanted objects whose last md5 check still stands.

    `want` is {rel: expected (size, md5, local fingerprint or None)}, `rows` the
    ledger's {rel: (size, md5, fingerprint, verified-at)}; `copied` the objects this
    run sent, which always get the full check; `window` in seconds (0/None: none).
    """
    if not window:
        return {}
    out = {}
    for rel, expected in want.items():
        row = rows.get(rel)
        if row is None or rel in copied:
            continue
        size, md5, local, when = row
        if (size, md5, local) == (expected.size, expected.md5, expected.local) and when is not None \
                and 0 <= now - when < window:
            out[rel] = when
    return out


class UploadLedger:
    """The md5 checks of remote copies (SQLite in the state directory)."""

    def __init__(self, directory):
        from ..statedb import open_db      # sqlite3 only when the ledger is used (not for -n)

        self.db = open_db(directory, DB_NAME,
                          "CREATE TABLE IF NOT EXISTS remote_verified (remote TEXT, rel TEXT, size INTEGER, "
                          "md5 TEXT, local_size INTEGER, mtime_ns INTEGER, ino INTEGER, verified REAL, "
                          "PRIMARY KEY (remote, rel))")

    def rows(self, remote):
        """{rel: (size, md5, fingerprint or None, verified-at or None)} of everything known of `remote`
        (verified-at None: a check failed since)."""
        out = {}
        for rel, size, md5, lsize, mtime_ns, ino, when in self.db.execute(
                "SELECT rel, size, md5, local_size, mtime_ns, ino, verified FROM remote_verified "
                "WHERE remote = ?", (remote,)):
            local = None if lsize is None else (lsize, mtime_ns, ino)
            out[rel] = (size, md5, local, when)
        return out

    def update(self, remote, verified, failed, when=None):
        """Record `verified` ({rel: expected}) as checked by md5 now; `failed` (rels) are no longer trusted.
        One short write transaction: concurrent runs wait on the busy timeout."""
        when = time.time() if when is None else when
        rows = [(remote, rel, e.size, e.md5, *(e.local or (None, None, None)), when) for rel, e in verified.items()]
        if not rows and not failed:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR REPLACE INTO remote_verified VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.executemany("UPDATE remote_verified SET verified = NULL WHERE remote = ? AND rel = ?",
                                [(remote, rel) for rel in failed])
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self):
        self.db.close()


def proved(directory, remote):
    """{rel: verified-at} of every object of `remote` whose last md5 check stands, read from
    the ledger in `directory` without writing to it (rex-web); {} when there is none."""
    import os
    import sqlite3

    path = os.path.join(directory, DB_NAME)
    if not remote or not os.path.exists(path):
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return dict(db.execute("SELECT rel, verified FROM remote_verified WHERE remote = ? AND verified IS NOT NULL",
                                   (remote,)).fetchall())
        finally:
            db.close()
    except sqlite3.Error as exc:
        if "no such table" not in str(exc):
            from .. import log

            log.warning(f"{path}: cannot read the upload ledger: {exc}; no copy counts as proved on the remote")
        return {}
