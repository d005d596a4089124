"""A PostgreSQL server as libpq sees it, and queries through psql.

Connection settings go to the client programs through the libpq environment
(PGHOST, PGPORT, PGUSER, PGPASSFILE, PGCONNECT_TIMEOUT), never argv, and every
program runs with -w so a missing password is an error rather than a prompt.
"""

import os
from dataclasses import dataclass

from ..errors import NoInput, NoPermission, RexError, TempFail
from ..runner import run, stderr_tail

AUTH_MARKERS = ("password authentication failed", "no password supplied", "authentication failed",
                "no pg_hba.conf entry", "peer authentication failed")
DOWN_MARKERS = ("could not connect", "connection refused", "connection to server", "is the server running",
                "timeout expired", "could not translate host name", "no route to host",
                "the database system is starting up", "the database system is shutting down",
                "server closed the connection unexpectedly", "network is unreachable")


@dataclass(frozen=True)
class Server:
    host: str = None
    port: int = None
    user: str = None
    passfile: str = None
    connect_timeout: int = 10
    name: str = None          # the directory name chosen by the user (pgdump.server_name)

    @classmethod
    def from_config(cls, config):
        """The server rex-pgdump dumps, from options, the libpq environment and the file."""
        return cls(config.get("pgdump.host"), config.get("pgdump.port"), config.get("pgdump.username"),
                   config.get("pgdump.passfile"), config.get("pgdump.connect_timeout"),
                   config.get("pgdump.server_name"))

    def env(self):
        """The libpq environment for client programs (None removes a variable)."""
        env = {"PGCONNECT_TIMEOUT": str(self.connect_timeout or 10), "PGDATABASE": None,
               "PGSERVICE": None, "PGOPTIONS": None}
        if self.host:
            env["PGHOST"] = self.host
        if self.port:
            env["PGPORT"] = str(self.port)
        if self.user:
            env["PGUSER"] = self.user
        if self.passfile:
            env["PGPASSFILE"] = self.passfile
        return env

    @property
    def label(self):
        """`HOST_PORT`, with `local` for a Unix socket: the server's directory name."""
        if self.name:
            return self.name
        host = self.host or os.environ.get("PGHOST") or "local"
        if host.startswith("/") or host.startswith("@"):
            host = "local"
        port = self.port or os.environ.get("PGPORT") or 5432
        return f"{host}_{port}"


def conninfo_dbname(name):
    """A conninfo string naming exactly database `name` (so `=` in a name is harmless)."""
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    return f"dbname='{escaped}'"


def classify(stderr, what, database=None):
    """The RexError for a failed client program, from what libpq said.

    Authentication is checked before reachability: libpq words an auth failure
    as "connection to server ... failed: FATAL: password authentication failed".
    """
    text = (stderr or "").lower()
    tail = stderr_tail(stderr)
    if 'database "' in text and "does not exist" in text:
        return NoInput(f"{what}: {tail}")
    if any(m in text for m in AUTH_MARKERS) or ('role "' in text and "does not exist" in text):
        return NoPermission(f"{what}: authentication failed: {tail}")
    if any(m in text for m in DOWN_MARKERS):
        return TempFail(f"{what}: server unreachable: {tail}")
    return RexError(f"{what}: {tail or 'failed'}", code=1)


def query(server, sql, database="postgres", psql="psql", timeout=60):
    """Rows (lists of strings) of one SQL statement, run with psql."""
    argv = [psql, "-X", "-w", "-q", "-A", "-t", "-z", "-0", "-v", "ON_ERROR_STOP=1",
            "-d", conninfo_dbname(database), "-c", sql]
    result = run(argv, env=server.env(), timeout=timeout)
    if not result.ok:
        raise classify(result.stderr, "psql", database)
    text = result.stdout.decode("utf-8", "surrogateescape")
    rows = [r for r in text.split("\0") if r != ""]
    # -z -0: fields separated by NUL too when more than one column; we ask one column per query
    return rows


def server_version_num(server, psql="psql"):
    rows = query(server, "SHOW server_version_num", psql=psql)
    return int(rows[0].strip())


def major_of(version_num):
    """'15' for 150018, '9.6' for 90624."""
    if version_num >= 100000:
        return str(version_num // 10000)
    return f"{version_num // 10000}.{version_num // 100 % 100}"


def list_databases(server, psql="psql"):
    """Every database that accepts connections and is not a template, by name."""
    return sorted(query(server, "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate",
                        psql=psql))
