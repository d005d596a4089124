"""rex-restore's runs on a server: a dump restored as a new library (--as) and such a
library dropped again (--drop), each with its server, client programs, lock and the
ledger of created libraries around the steps of `newlib`.

SIGTERM (systemctl stop, a timeout) unwinds a restore like ^C, so a half-made library
is dropped; the ledger row written first lets --drop clean up after a kill -9.
"""

import signal

from .. import errors, log
from . import newlib
from .created import CreatedLibraries
from .origin import restore_target


def restore_library(config, path, name, state, dry_run=False):
    """Restore the dump at `path` (checked by the caller, as `name` is) as new library
    `name`: (Server, newlib.Restored), Restored None for a dry run; CantCreate (73) when
    `name` exists."""
    from ..fsutil import job_lock
    from .tools import select_pg_restore

    server, psql, major = restore_target(config, path)
    program, warning = select_pg_restore(major, config.get("restore.pg_restore"))
    if warning:
        log.warning(warning)
    log.info(f"server {server.label} runs PostgreSQL {major}; using {program}")
    signal.signal(signal.SIGTERM, _terminated)
    with job_lock(f"restore-{server.label}-{name}", wait=config.get("lock_wait")):
        if dry_run:
            if newlib.exists(server, name, psql):
                raise errors.CantCreate(f"database {name!r} already exists on {server.label}")
            return server, None
        created = CreatedLibraries(state)
        try:
            done = newlib.restore_as(server, path, name, program, psql, created, timeout=config.get("restore.timeout"))
        finally:
            created.close()
    for (schema, table), rows in sorted(done.counts.items()):
        log.info(f"{schema}.{table}: {rows} rows, as in the dump")
    return server, done


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


def drop_library(config, name, state, force=False, dry_run=False):
    """Drop library `name` if rex-restore created it (a dry run only checks that); the Server.
    Unless told otherwise, the server is the one rex-restore created it on."""
    created = CreatedLibraries(state)
    try:
        rows = created.find(name)
        remembered = (rows[0].host, rows[0].port) if len(rows) == 1 else None
        server, psql, major = restore_target(config, remembered=remembered)
        if dry_run:
            newlib.ours(server, name, psql, created, forget=False)
        else:
            newlib.drop(server, name, psql, created, force=force, major=major)
    finally:
        created.close()
    return server
