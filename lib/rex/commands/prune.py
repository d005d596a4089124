"""rex-prune: remove old backups by a retention policy, never breaking a link."""

import os
import shlex

import click

from .. import errors, log
from ..cli import rex_command

KEEP_OPTIONS = ("keep_last", "keep_within", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
                "keep_yearly")


def _count(name, text):
    return click.option(f"--{name.replace('_', '-')}", name, type=click.IntRange(min=0), metavar="N", help=text)


@rex_command("rex-prune", config_keys={"lock_wait": "lock_wait", "backup_root": "backup_root",
                                       "allow_unverified": "prune.allow_unverified"})
@click.argument("paths", nargs=-1)
@click.option("--tree", "trees", multiple=True, metavar="DIR", help="Prune every backup set under DIR.")
@click.option("-a", "--all", "whole_root", is_flag=True, help="Prune every backup set under the backup root.")
@click.option("--backup-root", metavar="DIR", help="The backup root for --all (REX_BACKUP_ROOT).")
@_count("keep_last", "Keep the N newest backups.")
@click.option("--keep-within", "keep_within", metavar="DURATION",
              help="Keep backups younger than DURATION, counted from the newest.")
@_count("keep_hourly", "Keep the newest backup of each of the N latest hours.")
@_count("keep_daily", "Keep the newest backup of each of the N latest days.")
@_count("keep_weekly", "Keep the newest backup of each of the N latest ISO weeks.")
@_count("keep_monthly", "Keep the newest backup of each of the N latest months.")
@_count("keep_yearly", "Keep the newest backup of each of the N latest years.")
@click.option("--lock-wait", metavar="DURATION", help="Wait this long for a concurrent run (default 60s).")
@click.option("--allow-unverified", is_flag=True,
              help="Prune a set none of whose backups rex-verify found good (default: leave it whole).")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be removed and why; change nothing.")
def command(inv, paths, trees, whole_root, backup_root, lock_wait, allow_unverified, dry_run, **keep):
    """Remove the backups of each set (directories, backup PATHs whose sets are
    taken, stdin, --tree DIR, or --all under the backup root) that no retention
    rule keeps; never the newest, nor the newest verified, and nothing of a set
    with no verified backup. Removed paths are printed on stdout."""
    from ..retention.policy import Policy

    given = {k: v for k, v in keep.items() if v is not None}
    if "keep_within" in given:
        from ..durations import parse_duration

        try:
            given["keep_within"] = parse_duration(given["keep_within"])
        except ValueError as exc:
            raise errors.UsageError(f"--keep-within: {exc}") from None
    config = inv.config
    if given:
        default, rules = Policy.from_mapping(given), []
    else:
        default = Policy.from_mapping({k: config.get(f"prune.{k}") for k in KEEP_OPTIONS})
        rules = config.get("prune.policies")
    if default.empty:
        if given or not rules:
            raise errors.UsageError(
                "no retention policy: give --keep-last, --keep-within, --keep-hourly, --keep-daily, "
                "--keep-weekly, --keep-monthly or --keep-yearly above 0 (or prune.keep_* / prune.policies in "
                "the configuration); without one nothing but the newest backup would be kept")
        default = None
    run = _Run(inv, default, rules, config.get("lock_wait"), dry_run, config.get("prune.allow_unverified"))
    if whole_root:
        trees = (*trees, config.backup_root)
    try:
        for tree in trees:
            run.tree(tree)
        if paths or not trees:
            for record in inv.records(paths):
                run.operand(record.path)
        run.finish()
    finally:
        run.close()
    return errors.worst(run.codes)


class _Run:
    def __init__(self, inv, default, rules, lock_wait, dry_run, allow_unverified):
        self.inv, self.default, self.rules = inv, default, rules
        self.lock_wait, self.dry_run, self.allow_unverified = lock_wait, dry_run, allow_unverified
        self.codes, self.sets, self._ledger = [], {}, None
        self.removed = 0

    @property
    def ledger(self):
        if self._ledger is None:
            from ..paths import state_dir
            from ..backups.verify import Ledger

            self._ledger = Ledger(state_dir())
        return self._ledger

    def close(self):
        if self._ledger is not None:
            self._ledger.close()

    def error(self, message, code):
        log.error(message)
        self.codes.append(code)

    def operand(self, path):
        from ..backups import sets as backupset

        if os.path.isdir(path):
            found = backupset.members(path)
            if not found:
                log.notice(f"{path}: no backups")
            for backup in found:
                self.sets.setdefault(backup.set_key, None)
            self.codes.append(errors.OK)
            return
        why = backupset.unusable(path)
        if why == backupset.MISSING:
            self.error(f"{path}: no such file or directory", errors.NOINPUT)
            return
        backup = backupset.parse(path)
        if backup is None:
            self.error(f"{path}: not a backup name (NAME_YYYYMMDDTHHMMSSZ.EXT) nor a directory", errors.DATAERR)
            return
        if why:
            self.error(f"{path}: {why}, not a backup; its set is not taken", errors.DATAERR)
            return
        self.sets.setdefault(backup.set_key, None)
        self.codes.append(errors.OK)

    def tree(self, root):
        from ..backups import sets as backupset

        if not os.path.isdir(root):
            self.error(f"{root}: not a directory", errors.NOINPUT)
            return
        for key in sorted(backupset.sets_under(root)):
            self.sets.setdefault(key, None)

    def finish(self):
        for key in self.sets:
            self.one(key)
        if self.removed and not self.dry_run:
            log.info(f"removed {self.removed} backup(s)")

    def one(self, key):
        from ..backups import sets as backupset
        from ..retention import local as prune
        from ..fsutil import job_lock
        from ..retention.policy import policy_for, set_label

        label = set_label(*key)
        policy = policy_for(label, self.rules, self.default)
        if policy is None:
            self.error(f"{label}: no retention policy matches this set (prune.policies); left as it is",
                       errors.USAGE)
            return
        with job_lock(backupset.lock_name(key), wait=self.lock_wait):
            backups = backupset.members(*key)
            if not backups:
                return
            result, verified = prune.plan_set(backups, policy, self.ledger, self.allow_unverified)
            self.report(result, verified, policy)
            if result.held:
                self.error(f"{label}: no backup of this set is known to be verified good, so none "
                           f"{'would be' if self.dry_run else 'was'} removed; verify them first "
                           f"(rex-verify -r {shlex.quote(key[0])}) or give --allow-unverified", errors.PARTIAL)
                return
            if not self.dry_run:
                # Not a scan per removal; by normalised path, as the plan names them.
                reasons = {os.path.normpath(b.path): d.reason for b, d in result.decisions}
                prune.execute(result, on_removed=lambda path: self.emit(path, result.label, reasons[path]))
        for path, message in result.failed:
            self.error(f"{path}: {message}", errors.PARTIAL)
        self.codes.append(errors.OK)

    def emit(self, path, label, reason):
        self.removed += 1
        log.info(f"removed {path} ({reason})")
        self.inv.out.path(path, set=label, reason=reason)

    def report(self, result, verified, policy):
        say = log.notice if self.dry_run else log.debug
        kept = sum(1 for _b, d in result.decisions if d.keep)
        gone = len(result.decisions) - kept
        say(f"{result.label}: {policy.describe()}; newest verified: "
            f"{os.path.basename(verified.path) if verified else 'none'}; "
            f"{kept} kept, {gone} {'would go' if self.dry_run else 'to remove'}")
        if verified is None and gone:
            log.warning(f"{result.label}: no backup of this set is known to be verified good (rex-verify); "
                        "pruned by its policy alone, as --allow-unverified says")
        for backup, decision in reversed(result.decisions):
            if decision.keep:
                say(f"keep {backup.path}: {decision.reason}")
            else:
                say(f"{'would remove' if self.dry_run else 'remove'} {backup.path}: {decision.reason}")
        act = log.notice if self.dry_run else log.info
        for src, dst in result.plan.moves:
            act(f"{'would move' if self.dry_run else 'move'} {src} over its kept link {dst}")
        for link, target in result.plan.repoint:
            act(f"{'would re-point' if self.dry_run else 're-point'} {link} -> {os.path.basename(target)}")
