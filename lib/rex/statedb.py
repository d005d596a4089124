"""Small SQLite files in the state directory (verification ledger, digest cache,
export ledger): WAL mode and a busy timeout, so concurrent runs wait instead of failing."""

import os
import sqlite3


def open_db(directory, filename, *ddl, shared=False):
    """Open (and create) a state database; `shared` lets several threads use the one
    connection, which the caller then serialises."""
    db = sqlite3.connect(os.path.join(directory, filename), timeout=30, isolation_level=None,
                         check_same_thread=not shared)
    db.execute("PRAGMA journal_mode=WAL")
    for statement in ddl:
        db.execute(statement)
    return db
