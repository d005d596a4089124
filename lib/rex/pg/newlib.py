"""A dump restored as a new project library beside production, and removed again.

CREATE DATABASE cannot run inside a transaction, so a restore is: create the
database (never one that exists: duplicate_database is a refusal, not a merge),
then one `pg_restore --single-transaction --exit-on-error`, then prove that the
tables, rows and large objects equal the dump's. Any failure drops the database
this run created, so nothing half-restored stays behind. Objects are owned by
the user who restores (--no-owner): Resolve connects as that user (postgres), and
replaying the dump's owners would fail wherever those roles do not exist.
"""

import contextlib
from dataclasses import dataclass

from .. import log
from ..errors import CantCreate, DataError, NoInput, NoPermission, RexError, TempFail
from ..runner import run
from .archive import read_toc, row_counts
from .restore import compare_restored, pg_restore_argv, quote_ident
from .server import classify, query

MAX_NAME_BYTES = 63      # PostgreSQL silently truncates longer names (NAMEDATALEN - 1)


@dataclass
class Restored:
    name: str
    tables: int
    rows: int
    large_objects: int
    counts: dict          # {(schema, table): rows}
    summary: str


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def check_name(name):
    """A usable database name, or a UsageError saying why not."""
    from ..errors import UsageError

    if not name or not name.strip():
        raise UsageError("the new library needs a name")
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        raise UsageError(f"library name {name!r} holds a control character")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise UsageError(f"library name {name!r} is longer than {MAX_NAME_BYTES} bytes "
                         "(PostgreSQL would cut it short)")
    return name


def exists(server, name, psql):
    rows = query(server, f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(name)}", psql=psql)
    return bool(rows)


def database_oid(server, name, psql):
    """pg_database.oid of database `name`, or None when there is none."""
    rows = query(server, f"SELECT oid FROM pg_database WHERE datname = {quote_literal(name)}", psql=psql)
    return int(rows[0]) if rows else None


def sessions(server, name, psql):
    """How many sessions are connected to database `name` (Resolve holding it open, say)."""
    rows = query(server, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                         f"{quote_literal(name)} AND pid <> pg_backend_pid()", psql=psql)
    return int(rows[0])


def create_database(server, name, psql):
    """CREATE DATABASE `name`; CantCreate (73) when it exists, even if created a moment ago."""
    try:
        query(server, f"CREATE DATABASE {quote_ident(name)} TEMPLATE template0", psql=psql)
    except RexError as exc:
        if "already exists" in exc.message:
            raise CantCreate(f"database {name!r} already exists on {server.label}; not touching it") from None
        if "permission denied" in exc.message:
            raise NoPermission(f"{server.label}: {exc.message}") from None
        raise


def drop_database(server, name, psql, force=False, major=None):
    """DROP DATABASE `name`; with `force`, first end the sessions using it."""
    if force and major is not None and _major_number(major) >= 13:
        query(server, f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)", psql=psql)
        return
    if force:
        query(server, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
                      f"{quote_literal(name)} AND pid <> pg_backend_pid()", psql=psql)
    try:
        query(server, f"DROP DATABASE IF EXISTS {quote_ident(name)}", psql=psql)
    except RexError as exc:
        if "being accessed by other users" in exc.message:
            raise TempFail(f"{name} is in use (Resolve may have it open): close it there, or use --force") \
                from None
        raise


def _major_number(major):
    return float(str(major).split(".")[0])


def restore_as(server, path, name, pg_restore, psql, ledger, timeout=None):
    """Restore the dump at `path` as new database `name`; a Restored, or an error with
    nothing left behind. The ledger row is written before the database exists."""
    toc = read_toc(pg_restore, path)
    expected = row_counts(pg_restore, path)
    if exists(server, name, psql):
        raise CantCreate(_exists_message(server, name, ledger))
    token = ledger.begin(server, name, path)
    try:
        create_database(server, name, psql)
    except BaseException:
        ledger.forget(server.label, name, token)
        raise
    try:
        ledger.made(server, name, token, database_oid(server, name, psql))
        result = run(pg_restore_argv(pg_restore, name, path), env=server.env(), timeout=timeout)
        if not result.ok:
            error = classify(result.stderr, "pg_restore", name)
            if error.code == 1:
                error = DataError(f"{path}: restore failed, nothing kept: {result.tail()}")
            raise error
        summary = compare_restored(server, name, path, toc, expected, psql)
    except BaseException as exc:
        _undo(server, name, psql, ledger, token, exc)
        raise
    ledger.complete(server, name, token)
    return Restored(name, toc.tables, sum(expected.values()), toc.large_objects, expected, summary)


def _exists_message(server, name, ledger):
    rows = ledger.find(name, server.label)
    if rows and rows[0].status != "complete":
        return (f"database {name!r} already exists on {server.label}, left incomplete by an earlier "
                f"rex-restore: remove it with --drop {name!r}")
    return f"database {name!r} already exists on {server.label}; not touching it"


def _undo(server, name, psql, ledger, token, exc):
    """Drop what this run created; if even that fails, keep the ledger row for --drop."""
    try:
        drop_database(server, name, psql, force=True)
    except Exception as drop_error:   # the original error is the one the user must see
        log.error(f"could not drop the partly restored {name!r} ({getattr(drop_error, 'message', drop_error)}); "
                  f"remove it with: rex-restore --drop {name!r}")
        return
    with contextlib.suppress(Exception):
        ledger.forget(server.label, name, token)
    log.info(f"dropped {name!r} again after: {getattr(exc, 'message', exc) or type(exc).__name__}")


def ours(server, name, psql, ledger, forget=True):
    """Refuse (77; 66 when there is no such library) unless database `name` is the one rex-restore made on
    `server`; a row about a library that is gone is forgotten (unless not `forget`: a dry run)."""
    rows = ledger.find(name, server.label)
    oid = database_oid(server, name, psql)
    if not rows:
        if oid is None:      # nothing to refuse: there is no such library (66, as for a missing file)
            raise NoInput(f"there is no library {name!r} on {server.label}")
        raise NoPermission(f"rex-restore did not create {name!r} on {server.label}; refusing to drop it")
    if oid is None:
        if forget:
            ledger.forget(server.label, name)
        raise NoInput(f"{name!r} no longer exists on {server.label} (forgotten)")
    if rows[0].oid is not None and rows[0].oid != oid:
        # Dropped elsewhere, and a database of that name made again since: not ours.
        if forget:
            ledger.forget(server.label, name)
        raise NoPermission(f"rex-restore did not create the {name!r} now on {server.label} (the one it made "
                           "was dropped and the name used again); refusing to drop it")


def drop(server, name, psql, ledger, force=False, major=None):
    """Drop library `name` if, and only if, rex-restore created it on `server`."""
    ours(server, name, psql, ledger)
    busy = sessions(server, name, psql)
    if busy and not force:
        raise TempFail(f"{busy} session(s) are connected to {name!r} (Resolve may have it open): "
                       "close it there, or use --force")
    drop_database(server, name, psql, force=force, major=major)
    ledger.forget(server.label, name)
