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

    from ..remote import rclone
    from ..remote.upload import Planner

    config = inv.config
    target = _remote(config)
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
    records = [item for item in planner.items if item.record]
    if dry_run:
        for item in records:
            log.notice(f"would {'link' if item.kind == 'link' else 'upload'} {item.path}")
            inv.out.path(rclone.join(target, item.rel), local=item.path, kind=item.kind, action="dry-run")
        if prune_remote:
            codes += _prune(inv, config, target, root, policy, planner.items, dry_run=True)
        return errors.worst(codes)
    if not planner.items and not prune_remote:
        return errors.worst(codes)
    from ..fsutil import job_lock
    from ..remote.upload import remote_lock_name

    with job_lock(remote_lock_name(target), wait=config.get("lock_wait")):
        verified = []
        if planner.items:
            upload_codes, verified = _upload(inv, config, target, root, planner.items, check_only)
            codes += upload_codes
        if prune_remote:
            codes += _prune(inv, config, target, root, policy, verified)
    return errors.worst(codes)


def _remote(config):
    """The validated remote; a bad one is a usage error on the command line, else a configuration error."""
    from ..remote import rclone

    value = config.get("upload.remote")
    source = config.source("upload.remote")
    if not value:
        raise errors.UsageError("no remote: give --remote REMOTE:PATH or set upload.remote in the configuration")
    try:
        return rclone.check_remote(value)
    except ValueError as exc:
        if source.startswith("option"):
            raise errors.UsageError(f"--remote: {exc}") from None
        raise errors.ConfigError(f"upload.remote ({source}): {exc}") from None


def _rclone(config):
    """The rclone program configured (upload.rclone, .rclone_config, .timeout); 69 when missing."""
    from ..remote import rclone
    from ..runner import find_program

    return rclone.Rclone(find_program("rclone", config.get("upload.rclone")),
                         rclone.environment(config.get("upload.rclone_config")), config.get("upload.timeout"))


def _upload(inv, config, target, root, items, check_only):
    """Upload (or check) the items; (exit codes, the rels verified on the remote)."""
    from ..remote import rclone
    from ..paths import stamp, state_dir
    from ..remote.upload import Uploader
    from ..remote.ledger import UploadLedger

    ledger = UploadLedger(state_dir())
    try:
        uploader = Uploader(_rclone(config), target, root, transfers=config.get("upload.transfers"),
                            bwlimit=config.get("upload.bwlimit"), download_check=config.get("upload.download_check"),
                            ledger=ledger, recheck_after=config.get("upload.recheck_after"))
        outcomes = uploader.run(items, check_only=check_only)
    finally:
        ledger.close()
    codes, verified = [], []
    for outcome in outcomes:
        item = outcome.item
        for _rel, wrong in outcome.repaired:
            log.warning(f"{rclone.join(target, wrong)}; sent again from {item.path}, which matches its "
                        "sidecar, and checked: repaired")
        if not outcome.ok:
            log.error(f"{item.path}: {outcome.message}")
            codes.append(outcome.code)
            continue
        verified.append(item.rel)
        if item.record:
            log.info(f"{item.path}: {outcome.action}")
            facts = {"checked": outcome.checked}
            if outcome.verified is not None:
                facts["verified"] = stamp(outcome.verified)
            inv.out.path(rclone.join(target, item.rel), local=item.path, size=item.size, md5=item.md5,
                         kind=item.kind, action=outcome.action, **facts)
        codes.append(errors.OK)
    return codes, verified


def _prune(inv, config, target, root, policy, verified, dry_run=False):
    """Remote retention. Removed backups are records only with --json (action pruned,
    or would-prune in a dry run): plain records stay "what is on the remote"."""
    import os

    from ..remote import rclone
    from ..paths import state_dir
    from ..remote.prune import RemotePruner, planned_objects, policy_lookup
    from ..backups.verify import Ledger

    default, rules, section = policy
    pruner = RemotePruner(_rclone(config), target)
    planned = None
    if dry_run:           # the dry run pretends the backups it would upload are there, and good
        planned = planned_objects(verified)
        verified = [item.rel for item in verified]
    ledger = Ledger(state_dir())
    try:
        roots = sorted({root, os.path.realpath(root)})
        found, plan = pruner.decide(policy_lookup(default, rules, root), verified, ledger, roots, planned)
    finally:
        ledger.close()
    codes = [errors.OK]
    for label in plan.unmatched:
        log.error(f"{rclone.join(target, label)}: no retention policy matches this set ({section}.policies); "
                  "left as it is")
        codes.append(errors.PARTIAL)
    say = log.notice if dry_run else log.debug
    for verdict in plan.verdicts:
        where = rclone.join(target, verdict.rel)
        if verdict.keep:
            say(f"keep {where}: {verdict.reason}")
        else:
            say(f"{'would remove' if dry_run else 'remove'} {where}: {verdict.reason}")
            if dry_run and inv.json:
                inv.out.path(where, set=verdict.label, reason=verdict.reason, action="would-prune")

    def removed(verdict):
        where = rclone.join(target, verdict.rel)
        log.info(f"removed {where} ({verdict.reason})")
        if inv.json:
            inv.out.path(where, set=verdict.label, reason=verdict.reason, action="pruned")

    if dry_run:
        return codes
    outcome = pruner.delete(found, plan, on_removed=removed)
    for obj, message in outcome.failed:
        log.error(f"{rclone.join(target, obj)}: {message}")
        codes.append(errors.PARTIAL)
    if outcome.removed:
        log.info(f"removed {len(outcome.removed)} backup(s) from {target}")
    return codes
