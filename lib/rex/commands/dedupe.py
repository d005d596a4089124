"""rex-dedupe: keep one copy of backups whose content did not change."""

import click

from .. import errors, log
from ..cli import rex_command


@rex_command("rex-dedupe", config_keys={"link": "dedupe.link", "lock_wait": "lock_wait"})
@click.argument("paths", nargs=-1)
@click.option("--tree", "trees", multiple=True, metavar="DIR", help="Dedupe every backup set under DIR in place.")
@click.option("--link", type=click.Choice(["symlink", "hardlink"]), help="How to link (default symlink).")
@click.option("--lock-wait", metavar="DURATION", help="Wait this long for a concurrent run (default 60s).")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be linked; change nothing.")
def command(inv, paths, trees, link, lock_wait, dry_run):
    """Replace each new backup (PATH operands or stdin) whose content equals the
    previous backup of its set by a link to the earlier real file, keeping its
    sidecar valid, and pass every path on."""
    from ..backups.dedupe import Deduper, human_size, recover
    from ..fsutil import job_lock
    from ..paths import state_dir

    config = inv.config
    state = state_dir()
    run = Deduper(state, config.get("dedupe.link") == "hardlink", dry_run, config.get("lock_wait"))
    try:
        with job_lock("dedupe", wait=config.get("lock_wait")):
            for path in recover(state):
                log.info(f"finished an interrupted replacement of {path}")
            for tree in trees:
                run.tree(tree)
            if paths or not trees:
                for record in inv.records(paths):
                    if run.one(record.path):
                        inv.out.path(record.path)
    finally:
        run.close()
    if run.saved or run.linked:
        log.info(f"linked {run.linked} backup(s), saved {human_size(run.saved)}")
    return errors.worst(run.codes)
