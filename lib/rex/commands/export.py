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

    from ..backups.export import export_all
    from ..backups.export_plan import ExportLedger, Unchanged, plan
    from ..desktop.idle import soft_schedule
    from ..fsutil import job_lock
    from ..paths import state_dir
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
            if config_idle:
                max_wait, count = config.get("export.max_wait"), len(targets)
                log.info(f"waiting until the user has been idle {config_idle / 60:g} min (at most "
                         f"{max_wait / 60:g} min)")
                countdown = config.get("export.countdown") or 0
                if not soft_schedule(
                        config_idle, max_wait, config.get("export.on_timeout"), countdown,
                        f"Backing up {count} project{'s' if count != 1 else ''} in {countdown:g} s",
                        config.get("export.idle_command")):
                    log.notice("the user stayed active; skipping this run")
                    return errors.OK
            codes = []
            for done in export_all(pm, targets, root, ledger, stills=config.get("export.stills")):
                if done.path:
                    ref = done.target.ref
                    inv.out.path(done.path, database=ref.database, folder="/".join(ref.folder), project=ref.name,
                                 md5=done.md5, size=done.size)
                codes.append(done.code)
        finally:
            ledger.close()
    # A lock or Resolve that went away (75) says "try later" before anything else.
    return errors.worst(codes, order=(errors.TEMPFAIL, *errors.ORDER))
