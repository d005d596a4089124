"""rex-upload: copy backups and their sidecars to an rclone remote, and prove they arrived."""

import click

from .. import errors, log
from ..cli import rex_command


@rex_command(
    "rex-upload",
    config_keys={"remote": "upload.remote", "backup_root": "backup_root", "include": "upload.include",
                 "exclude": "upload.exclude", "transfers": "upload.transfers", "bwlimit": "upload.bwlimit",
                 "download_check": "upload.download_check", "recheck_after": "upload.recheck_after",
                 "lock_wait": "lock_wait"},
)
@click.argument("paths", nargs=-1)
@click.option("-r", "--remote", metavar="REMOTE:PATH", help="The rclone remote and path to copy to.")
@click.option("--sync", "trees", multiple=True, metavar="DIR", help="Upload every backup under DIR.")
@click.option("--backup-root", metavar="DIR", help="The local root whose layout the remote keeps (REX_BACKUP_ROOT).")
@click.option("--include", multiple=True, metavar="GLOB", help="Only backups matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out backups matching GLOB (repeatable).")
@click.option("--transfers", type=click.IntRange(1, 256), metavar="N", help="Files copied at once (default 4).")
@click.option("--bwlimit", metavar="RATE", help="Bandwidth limit, as rclone's (10M, or a timetable).")
@click.option("--download-check/--no-download-check", default=None,
              help="On a remote without md5, download each file to check it (default on).")
@click.option("--check", "check_only", is_flag=True,
              help="Upload nothing new: check the remote copies, every one by md5, and send again any "
                   "damaged or lost one whose local backup still matches its sidecar.")
@click.option("--recheck-after", metavar="DURATION",
              help="Re-read a remote copy's md5 only this long after its last good check (0: always; "
                   "default 30d); until then, unchanged backups are checked by size.")
@click.option("--lock-wait", metavar="DURATION", help="Wait this long for another upload to the remote.")
@click.option("--prune-remote", is_flag=True,
              help="Then remove old backups from the remote by the retention policy (upload.keep_*, "
                   "else prune.keep_*).")
@click.option("-n", "--dry-run", is_flag=True,
              help="List what would be sent (contact nothing) or pruned (the remote is only listed).")
def command(inv, paths, trees, remote, backup_root, include, exclude, transfers, bwlimit, download_check,
            check_only, recheck_after, prune_remote, lock_wait, dry_run):
    """Copy backups (PATH operands, stdin, or every backup under --sync DIR) with their
    sidecars to an rclone remote, keeping their layout under the backup root, then
    check each one there against its sidecar's md5. Prints the remote path of each
    backup that is verified on the remote. With --prune-remote, then remove the
    backups on the remote that the retention policy lets go."""
    import os

    from ..remote import configured, rclone
    from ..remote.upload import Planner

    config = inv.config
    target = configured.target(config)
    policy = None
    if prune_remote:
        from ..remote.prune import remote_policy

        policy = remote_policy(config)
    root = config.backup_root
    if not os.path.isdir(root):
        raise errors.NoInput(f"{root}: backup root is not a directory")
    planner = Planner(root, config.get("upload.include"), config.get("upload.exclude"))
    for tree in trees:
        planner.add(tree)
    if paths or not trees:
        # With --prune-remote and nothing given, there is nothing to upload: only prune.
        for record in inv.records(paths, require=not prune_remote):
            planner.add(record.path)
    codes = [errors.OK]
    for problem in planner.problems:
        log.error(f"{problem.path}: {problem.message}")
        codes.append(problem.code)

    def pruned(where, verdict, action):     # removed backups are records only with --json:
        if inv.json:                        # plain records stay "what is on the remote"
            inv.out.path(where, set=verdict.label, reason=verdict.reason, action=action)

    if dry_run:
        for item in planner.items:
            if item.record:
                log.notice(f"would {'link' if item.kind == 'link' else 'upload'} {item.path}")
                inv.out.path(rclone.join(target, item.rel), local=item.path, kind=item.kind, action="dry-run")
        if prune_remote:
            from ..remote.prune import prune

            codes += prune(configured.program(config), target, root, policy, planner.items, True, pruned)
        return errors.worst(codes)
    if not planner.items and not prune_remote:
        return errors.worst(codes)
    from ..fsutil import job_lock
    from ..paths import stamp
    from ..remote.upload import remote_lock_name

    with job_lock(remote_lock_name(target), wait=config.get("lock_wait")):
        verified = []
        for result in configured.upload(config, target, root, planner.items, check_only) if planner.items else ():
            item = result.item
            for _rel, wrong in result.repaired:
                log.warning(f"{rclone.join(target, wrong)}; sent again from {item.path}, which matches its "
                            "sidecar, and checked: repaired")
            if not result.ok:
                log.error(f"{item.path}: {result.message}")
                codes.append(result.code)
                continue
            verified.append(item.rel)
            if item.record:
                log.info(f"{item.path}: {result.action}")
                when = {} if result.verified is None else {"verified": stamp(result.verified)}
                inv.out.path(rclone.join(target, item.rel), local=item.path, size=item.size, md5=item.md5,
                             kind=item.kind, action=result.action, checked=result.checked, **when)
            codes.append(errors.OK)
        if prune_remote:
            from ..remote.prune import prune

            codes += prune(configured.program(config), target, root, policy, verified, False, pruned)
    return errors.worst(codes)
