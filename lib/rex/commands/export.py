"""rex-export: export Resolve projects (.drp) with checksums, when the user is idle."""

import click

from .. import errors, log
from ..cli import rex_command


@rex_command(
    "rex-export",
    config_keys={"backup_root": "backup_root", "stills": "export.stills",
                 "max_wait": "export.max_wait", "on_timeout": "export.on_timeout",
                 "countdown": "export.countdown", "idle_command": "export.idle_command",
                 "lock_wait": "lock_wait"},
)
@click.option("--database", "databases", multiple=True, metavar="NAME", help="Export this project library.")
@click.option("--all-databases", is_flag=True, help="Export every project library Resolve knows.")
@click.option("--folder", metavar="PATH", help="Only this folder (A/B/C from the root) and below.")
@click.option("--project", "patterns", multiple=True, metavar="GLOB", help="Only projects matching GLOB.")
@click.option("--backup-root", metavar="DIR", help="Where backups go (REX_BACKUP_ROOT).")
@click.option("--stills/--no-stills", default=None, help="Include stills and LUTs (default: yes).")
@click.option("--force", is_flag=True, help="Export even projects unchanged since their newest backup.")
@click.option("--idle", metavar="MIN", help="Wait until the user has been idle MIN minutes.")
@click.option("--max-wait", metavar="DURATION", help="Wait for idleness at most this long (default 2h).")
@click.option("--on-timeout", type=click.Choice(["export", "skip"]), help="When --max-wait passes.")
@click.option("--countdown", metavar="DURATION", help="Notify, then wait this long before exporting.")
@click.option("--idle-command", metavar="CMD", help="Command printing idle milliseconds.")
@click.option("--lock-wait", metavar="DURATION", help="Wait this long for a concurrent run (default 60s).")
@click.option("-n", "--dry-run", is_flag=True, help="List what would be exported; export nothing.")
def command(inv, databases, all_databases, folder, patterns, backup_root, stills, force, idle, max_wait,
            on_timeout, countdown, idle_command, lock_wait, dry_run):
    """Export every project of the current project library (recursively through
    its folders), or of the libraries named, to .drp files with md5 sidecars,
    and print each finished path."""
    import os

    from ..backups.export_plan import ExportLedger, Unchanged, by_database, plan
    from ..fsutil import job_lock
    from ..paths import state_dir
    from ..resolve import api
    from ..resolve.connect import connect

    config = inv.config
    if idle is not None:
        try:
            config_idle = float(idle) * 60
        except ValueError:
            raise errors.UsageError(f"--idle: not a number of minutes: {idle!r}") from None
    else:
        config_idle = config.get("export.idle")
    os.umask(0o077)
    root = config.backup_root
    start = tuple(p for p in (folder or "").split("/") if p)

    with job_lock("export", wait=config.get("lock_wait")):
        pm = connect().GetProjectManager()
        targets = plan(pm, databases, all_databases, start, patterns)
        if not targets:
            log.notice("no project to export")
            return errors.OK
        ledger = ExportLedger(state_dir())
        try:
            targets = Unchanged(root, ledger, force, remember=not dry_run).changed(targets)
            if dry_run or not targets:
                for target in targets:
                    log.notice(f"would export {target.ref.describe()}")
                return errors.OK
            if config_idle and not _wait_for_idle(config, config_idle, len(targets)):
                log.notice("the user stayed active; skipping this run")
                return errors.OK
            codes = []
            for db_name, group in by_database(targets):
                try:
                    with api.database_selected(pm, db_name), api.user_folder_kept(pm):
                        for target in group:
                            codes.append(_export(inv, pm, target, root, ledger, config))
                except LookupError:
                    log.error(f"no project library named {db_name!r}")
                    codes.append(errors.PARTIAL)
        finally:
            ledger.close()
    return errors.worst(codes) if errors.TEMPFAIL not in codes else errors.TEMPFAIL


def _export(inv, pm, target, root, ledger, config):
    from ..backups.export import export_target

    try:
        path, digest, size = export_target(pm, target, root, ledger, stills=config.get("export.stills"))
    except errors.IOFailure as exc:
        log.error(exc.message)
        return exc.code
    except errors.RexError as exc:
        log.error(exc.message)
        return errors.PARTIAL
    ref = target.ref
    inv.out.path(path, database=ref.database, folder="/".join(ref.folder), project=ref.name, md5=digest,
                 size=size)
    return errors.OK


def _wait_for_idle(config, minimum, count):
    """Soft schedule: wait for idleness (bounded), then a notified countdown."""
    import time

    from ..desktop import idle
    from ..desktop import notify

    log.info(f"waiting until the user has been idle {minimum / 60:g} min (at most "
             f"{config.get('export.max_wait') / 60:g} min)")
    reached = idle.wait_until_idle(minimum, config.get("export.max_wait"), config.get("export.idle_command"),
                                   poll=min(15.0, max(0.5, minimum / 4)))
    if not reached and config.get("export.on_timeout") == "skip":
        return False
    countdown = config.get("export.countdown") or 0
    if countdown and notify.desktop("Rex", f"Backing up {count} project{'s' if count != 1 else ''} "
                                           f"in {countdown:g} s"):
        time.sleep(countdown)
    return True
