"""Small SQLite files in the state directory (verification ledger, digest cache,
export ledger, upload ledger): WAL mode and a busy timeout, so concurrent runs
wait instead of failing."""

import os
import sqlite3
import time

TIMEOUT = 30


def open_db(directory, filename, *ddl, shared=False):
    """Open (and create) a state database; `shared` lets several threads use the one
    connection, which the caller then serialises."""
    db = sqlite3.connect(os.path.join(directory, filename), timeout=TIMEOUT, isolation_level=None,
                         check_same_thread=not shared)
    for statement in ("PRAGMA journal_mode=WAL", *ddl):
        _patiently(db, statement)
    return db


def _patiently(db, statement):
    """Execute, retrying while another process holds the lock. Two runs creating the
    same file race to switch it to WAL, and SQLite answers that race with "database
    is locked" at once rather than through the busy timeout."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return db.execute(statement)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def path_key(path):
    """`path` as an SQLite key: text, or bytes when it is not UTF-8 (a name from a foreign
    disk, which SQLite cannot hold as text; no text key equals it, so keys stay one-to-one)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path
