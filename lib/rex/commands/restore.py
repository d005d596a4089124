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
        from ..backups.dump_search import dumps_in, newest_holding, projects_of_each
        from ..pg.projects import project_facts

        codes = []
        dumps = dumps_in((r.path for r in inv.records(sources)), codes)
        if list_projects:
            for path, projects in projects_of_each(dumps, codes):
                for project in projects:
                    inv.out.named([*project.folder, project.name], **project_facts(project, path))
            return errors.worst(codes)
        found = newest_holding(dumps, find_pattern, codes)
        if not found:
            log.error(f"no dump holds a project matching {find_pattern!r}")
            return errors.worst([*codes, errors.PARTIAL])
        path, hits = found
        inv.out.path(path, projects=[project_facts(p, path) for p in hits])
        return errors.OK
    paths = [r.path for r in inv.records(sources)]
    if len(paths) != 1:
        raise errors.UsageError(f"give exactly one backup to restore (got {len(paths)})")
    if as_name:
        return _restore(inv, paths[0], as_name, verify, dry_run)
    if paths[0].lower().endswith(".drp"):
        return _import(inv, paths[0], name, folder, verify, dry_run)
    raise errors.UsageError(f"{paths[0]}: say what to do: --as NAME for a dump, or give a .drp to import")


def _restore(inv, path, as_name, verify, dry_run):
    from ..backups.verify import require_good
    from ..paths import state_dir
    from ..pg import library_runs, newlib

    newlib.check_name(as_name)
    require_good(path, verify)
    server, done = library_runs.restore_library(inv.config, path, as_name, state_dir(), dry_run)
    if dry_run:
        log.notice(f"would restore {path} as {as_name!r} on {server.label}")
        return errors.OK
    log.notice(f"restored {path} as {as_name!r} on {server.label}: {done.summary}")
    inv.out.obj({"path": as_name, "server": server.label, "host": server.host, "port": server.port,
                 "dump": os.path.abspath(path), "tables": done.tables, "rows": done.rows,
                 "large_objects": done.large_objects})
    return errors.OK


def _drop(inv, drop_name, force, dry_run):
    from ..paths import state_dir
    from ..pg.library_runs import drop_library

    server = drop_library(inv.config, drop_name, state_dir(), force, dry_run)
    log.notice(f"{'would drop' if dry_run else 'dropped'} {drop_name!r} on {server.label}")
    if not dry_run:
        inv.out.obj({"path": drop_name, "server": server.label, "dropped": True})
    return errors.OK


def _import(inv, path, name, folder, verify, dry_run):
    from ..backups.drp_import import import_backup

    done = import_backup(path, name, folder, verify, dry_run)
    where = "/".join((done.database, *done.folder))
    log.notice(f"{'would import' if dry_run else 'imported'} {path} as {done.name!r} into {where}")
    if not dry_run:
        inv.out.named([*done.folder, done.name], folder=list(done.folder), name=done.name,
                      database=done.database, source=os.path.abspath(path))
    return errors.OK
