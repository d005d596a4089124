"""rex-restore: a dump back as a new library beside production, a project file back as a
new project, and finding which dump still holds a lost project."""

import os

import click

from .. import errors, log
from ..cli import rex_command


@rex_command(
    "rex-restore",
    config_keys={"host": "restore.host", "port": "restore.port", "username": "restore.username",
                 "pg_restore": "restore.pg_restore", "backup_root": "backup_root", "lock_wait": "lock_wait"},
    help_names=("--help",),   # -h is the host, as in psql and pg_restore
)
@click.argument("sources", nargs=-1)
@click.option("--as", "as_name", metavar="NAME", help="Restore the dump as new library NAME.")
@click.option("--drop", "drop_name", metavar="NAME", help="Drop library NAME that rex-restore created.")
@click.option("--force", is_flag=True, help="With --drop, end the sessions that use the library.")
@click.option("--list-projects", is_flag=True, help="List the projects inside each dump.")
@click.option("--find", "find_pattern", metavar="NAME", help="Print the newest dump holding project NAME (glob).")
@click.option("--name", metavar="NEW", help="Import the .drp under this project name.")
@click.option("--folder", metavar="PATH", help="Import into folder A/B of the library (default: current).")
@click.option("--no-verify", is_flag=True, help="Do not require a matching sidecar checksum.")
@click.option("-h", "--host", metavar="HOST", help="Server host or socket directory (PGHOST).")
@click.option("-p", "--port", type=int, metavar="PORT", help="Server port (PGPORT).")
@click.option("-U", "--username", metavar="USER", help="Database user (PGUSER).")
@click.option("--pg-restore", metavar="PATH", help="Use this pg_restore instead of the matching one.")
@click.option("--backup-root", metavar="DIR", help="Backup root whose layout names a dump's server.")
@click.option("--lock-wait", metavar="DURATION", help="Wait this long for a concurrent run (default 60s).")
@click.option("-n", "--dry-run", is_flag=True, help="Check everything and say what would be done; change nothing.")
def command(inv, sources, as_name, drop_name, force, list_projects, find_pattern, name, folder, no_verify,
            host, port, username, pg_restore, backup_root, lock_wait, dry_run):
    """Restore a dump (BACKUP.backup --as NAME) as a new project library beside
    production, drop such a library again (--drop NAME), list the projects inside
    dumps (--list-projects) or find the newest dump holding one (--find NAME), or
    import a project file (PROJECT.drp) as a new project in Resolve."""
    modes = [m for m, on in (("--as", as_name), ("--drop", drop_name), ("--list-projects", list_projects),
                             ("--find", find_pattern)) if on]
    if len(modes) > 1:
        raise errors.UsageError(f"{' and '.join(modes)} cannot be combined")
    if (name or folder) and modes:
        raise errors.UsageError("--name and --folder are for importing a .drp")
    if force and not drop_name:
        raise errors.UsageError("--force only goes with --drop")
    verify = not no_verify and inv.config.get("restore.verify")
    if drop_name:
        if sources:
            raise errors.UsageError("--drop takes no operand")
        return _drop(inv, drop_name, force, dry_run)
    if list_projects or find_pattern:
        from ..pg.search import dumps_in

        codes = []
        dumps = dumps_in((r.path for r in inv.records(sources)), codes)
        return _find(inv, dumps, find_pattern, codes) if find_pattern else _list(inv, dumps, codes)
    path = _one_source(inv, sources)
    if as_name:
        return _restore(inv, path, as_name, verify, dry_run)
    if path.lower().endswith(".drp"):
        return _import(inv, path, name, folder, verify, dry_run)
    raise errors.UsageError(f"{path}: say what to do: --as NAME for a dump, or give a .drp to import")


def _one_source(inv, sources):
    paths = [r.path for r in inv.records(sources)]
    if len(paths) != 1:
        raise errors.UsageError(f"give exactly one backup to restore (got {len(paths)})")
    return paths[0]


def _restore(inv, path, as_name, verify, dry_run):
    import signal

    from ..fsutil import job_lock
    from ..paths import state_dir
    from ..pg import newlib, tools
    from ..pg.created import Ledger
    from ..pg.origin import restore_target
    from ..backups.verify import require_good

    newlib.check_name(as_name)
    require_good(path, verify)
    server, psql, major = restore_target(inv.config, path)
    program, warning = tools.select_pg_restore(major, inv.config.get("restore.pg_restore"))
    if warning:
        log.warning(warning)
    log.info(f"server {server.label} runs PostgreSQL {major}; using {program}")
    signal.signal(signal.SIGTERM, _terminated)
    with job_lock(f"restore-{server.label}-{as_name}", wait=inv.config.get("lock_wait")):
        if dry_run:
            if newlib.exists(server, as_name, psql):
                raise errors.CantCreate(f"database {as_name!r} already exists on {server.label}")
            log.notice(f"would restore {path} as {as_name!r} on {server.label}")
            return errors.OK
        ledger = Ledger(state_dir())
        try:
            done = newlib.restore_as(server, path, as_name, program, psql, ledger,
                                     timeout=inv.config.get("restore.timeout"))
        finally:
            ledger.close()
    for (schema, table), rows in sorted(done.counts.items()):
        log.info(f"{schema}.{table}: {rows} rows, as in the dump")
    log.notice(f"restored {path} as {as_name!r} on {server.label}: {done.summary}")
    inv.out.obj({"path": as_name, "server": server.label, "host": server.host, "port": server.port,
                 "dump": os.path.abspath(path), "tables": done.tables, "rows": done.rows,
                 "large_objects": done.large_objects})
    return errors.OK


def _terminated(signum, frame):
    """SIGTERM (systemctl stop, a timeout) unwinds like ^C, so a half-made library is dropped."""
    raise SystemExit(128 + signum)


def _drop(inv, drop_name, force, dry_run):
    from ..paths import state_dir
    from ..pg import newlib
    from ..pg.created import Ledger
    from ..pg.origin import restore_target

    ledger = Ledger(state_dir())
    try:
        rows = ledger.find(drop_name)
        # Unless told otherwise, the one server rex-restore created it on.
        remembered = (rows[0].host, rows[0].port) if len(rows) == 1 else None
        server, psql, major = restore_target(inv.config, remembered=remembered)
        if dry_run:
            newlib.ours(server, drop_name, psql, ledger, forget=False)
            log.notice(f"would drop {drop_name!r} on {server.label}")
            return errors.OK
        newlib.drop(server, drop_name, psql, ledger, force=force, major=major)
    finally:
        ledger.close()
    log.notice(f"dropped {drop_name!r} on {server.label}")
    inv.out.obj({"path": drop_name, "server": server.label, "dropped": True})
    return errors.OK


def _list(inv, dumps, codes):
    from ..pg.search import project_facts, projects_of_each

    for path, projects in projects_of_each(dumps, codes):
        for project in projects:
            inv.out.named([*project.folder, project.name], **project_facts(project, path))
    return errors.worst(codes)


def _find(inv, dumps, pattern, codes):
    from ..pg.search import newest_holding, project_facts

    found = newest_holding(dumps, pattern, codes)
    if found:
        path, hits = found
        inv.out.path(path, projects=[project_facts(p, path) for p in hits])
        return errors.OK
    log.error(f"no dump holds a project matching {pattern!r}")
    return errors.worst(codes) if any(c != errors.OK for c in codes) else errors.PARTIAL


def _import(inv, path, name, folder, verify, dry_run):
    from .. import paths
    from ..backups.drp import project_name
    from ..resolve.connect import connect
    from ..resolve.importer import default_name, import_project
    from ..backups.verify import require_good

    require_good(path, verify)
    target = tuple(p for p in folder.split("/") if p) if folder is not None else None
    new_name = name or default_name(project_name(path), paths.stamp())
    pm = connect().GetProjectManager()
    done = import_project(pm, os.path.abspath(path), new_name, target, dry_run=dry_run)
    where = "/".join((done.database, *done.folder))
    if dry_run:
        log.notice(f"would import {path} as {new_name!r} into {where}")
        return errors.OK
    log.notice(f"imported {path} as {new_name!r} into {where}")
    inv.out.named([*done.folder, done.name], folder=list(done.folder), name=done.name,
                  database=done.database, source=os.path.abspath(path))
    return errors.OK
