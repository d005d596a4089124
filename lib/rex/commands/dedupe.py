"""rex-dedupe: keep one copy of backups whose content did not change."""

import os

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
    from ..backups.dedupe import DigestCache, recover
    from ..fsutil import job_lock
    from ..paths import state_dir

    config = inv.config
    hardlink = config.get("dedupe.link") == "hardlink"
    state = state_dir()
    run = _Run(inv, DigestCache(state), state, hardlink, dry_run, config.get("lock_wait"))
    try:
        with job_lock("dedupe", wait=config.get("lock_wait")):
            for path in recover(state):
                log.info(f"finished an interrupted replacement of {path}")
            for tree in trees:
                run.tree(tree)
            if paths or not trees:
                for record in inv.records(paths):
                    run.one(record.path, pass_on=True)
    finally:
        run.cache.close()
    if run.saved or run.linked:
        log.info(f"linked {run.linked} backup(s), saved {_human(run.saved)}")
    return errors.worst(run.codes)


class _Run:
    def __init__(self, inv, cache, state, hardlink, dry_run, lock_wait):
        self.inv, self.cache, self.state, self.lock_wait = inv, cache, state, lock_wait
        self.hardlink, self.dry_run = hardlink, dry_run
        self.codes, self.saved, self.linked = [], 0, 0

    def one(self, path, pass_on):
        from ..backups import sets as backupset
        from ..backups.dedupe import check_readable
        from ..fsutil import job_lock

        try:
            check_readable(path)
            backup = backupset.parse(path)
            if backup is None:
                raise errors.DataError(f"{path}: not a backup name (NAME_YYYYMMDDTHHMMSSZ.EXT)")
            if not os.path.islink(path):
                # rex-prune may be moving this set's files: one command at a time per set.
                with job_lock(backupset.lock_name(backup.set_key), wait=self.lock_wait):
                    earlier = backupset.previous(backup)
                    if earlier is not None:
                        self._compare(path, earlier.path)
        except errors.RexError as exc:
            log.error(exc.message)
            self.codes.append(exc.code)
            return
        self.codes.append(errors.OK)
        if pass_on:
            self.inv.out.path(path)

    def _compare(self, path, earlier):
        from ..backups.dedupe import real_target, replace_with_link

        target = real_target(earlier)
        if os.path.samefile(path, target) or not os.path.exists(target):
            return
        content = self.cache.content(path)
        try:
            if content != self.cache.content(target):
                log.debug(f"{path}: changed since {os.path.basename(earlier)}")
                return
            if self.dry_run:
                log.notice(f"would link {path} -> {target}")
                return
            self.saved += replace_with_link(path, target, self.state, hardlink=self.hardlink)
        except errors.DataError as exc:
            # The earlier backup is damaged: report it, and keep the new one (which is
            # good, so it is still passed on) as it is.
            log.error(f"{exc.message}; keeping {path} as it is")
            self.codes.append(exc.code)
            return
        self.linked += 1
        log.info(f"{path}: unchanged since {os.path.basename(target)}; linked")

    def tree(self, root):
        from ..backups import sets as backupset

        if not os.path.isdir(root):
            log.error(f"{root}: not a directory")
            self.codes.append(errors.NOINPUT)
            return
        for _key, backups in sorted(backupset.sets_under(root).items()):
            for backup in backups[1:]:
                self.one(backup.path, pass_on=False)


def _human(size):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
