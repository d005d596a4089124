"""The libraries rex-restore created, so that --drop removes only those.

A row is written *before* CREATE DATABASE, marked incomplete, and marked
complete after the restore was proved whole; a run killed in between leaves an
incomplete row that lets --drop clean up. Each run owns its row through a token,
so a run that lost a race never forgets another run's library. The database's
oid, recorded right after CREATE DATABASE, tells the library rex-restore made
from a database made again under the same name after it was dropped elsewhere.
"""

import os
import secrets
import sqlite3
import time
from dataclasses import dataclass

from ..statedb import open_db

DB_NAME = "restore.sqlite"
INCOMPLETE, COMPLETE = "incomplete", "complete"


@dataclass(frozen=True)
class Created:
    server: str        # the server's label, HOST_PORT
    name: str
    host: str
    port: int
    dump: str
    status: str
    when: float
    oid: int = None    # pg_database.oid of the library made, once known


class CreatedLibraries:
    """The ledger of the libraries rex-restore created (restore.sqlite in the state directory)."""

    def __init__(self, directory):
        self.db = open_db(directory, DB_NAME,
                          "CREATE TABLE IF NOT EXISTS created (server TEXT, name TEXT, host TEXT, port INTEGER, "
                          "dump TEXT, status TEXT, created REAL, token TEXT, PRIMARY KEY (server, name))")
        try:
            self.db.execute("ALTER TABLE created ADD COLUMN oid INTEGER")
        except sqlite3.OperationalError:
            pass        # there already

    def begin(self, server, name, dump):
        """Record that this run is about to create `name` on `server` (a Server); its token."""
        token = secrets.token_hex(8)
        self.db.execute("INSERT OR REPLACE INTO created (server, name, host, port, dump, status, created, token) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (server.label, name, server.host, server.port, os.path.abspath(dump), INCOMPLETE,
                         time.time(), token))
        return token

    def made(self, server, name, token, oid):
        """Record the oid of the database this run has just created."""
        self.db.execute("UPDATE created SET oid = ? WHERE server = ? AND name = ? AND token = ?",
                        (oid, server.label, name, token))

    def complete(self, server, name, token):
        self.db.execute("UPDATE created SET status = ? WHERE server = ? AND name = ? AND token = ?",
                        (COMPLETE, server.label, name, token))

    def forget(self, server_label, name, token=None):
        """Remove the row (only this run's row when `token` is given)."""
        if token is None:
            self.db.execute("DELETE FROM created WHERE server = ? AND name = ?", (server_label, name))
        else:
            self.db.execute("DELETE FROM created WHERE server = ? AND name = ? AND token = ?",
                            (server_label, name, token))

    def find(self, name, server_label=None):
        """The rows for `name` (on one server, or on any)."""
        sql = "SELECT server, name, host, port, dump, status, created, oid FROM created WHERE name = ?"
        args = [name]
        if server_label is not None:
            sql += " AND server = ?"
            args.append(server_label)
        return [Created(*row) for row in self.db.execute(sql + " ORDER BY created", args)]

    def close(self):
        self.db.close()
