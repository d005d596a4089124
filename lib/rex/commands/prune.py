"""rex-prune: remove old backups by a retention policy, never breaking a link."""

import click

from .. import errors, log
from ..cli import rex_command
from ..config.schema import RETENTION


def _keep_options(func):
    """--keep-last N ... --keep-within DURATION: one option per retention key of the schema."""
    for key, kind, _default, doc in reversed(RETENTION):
        flag = "--" + key.replace("_", "-")
        if kind == "duration":
            func = click.option(flag, key, metavar="DURATION", help=doc)(func)
        else:
            func = click.option(flag, key, type=click.IntRange(min=0), metavar="N", help=doc)(func)
    return func


@rex_command("rex-prune", config_keys={"lock_wait": "lock_wait", "backup_root": "backup_root",
                                       "allow_unverified": "prune.allow_unverified"})
@click.argument("paths", nargs=-1)
@click.option("--tree", "trees", multiple=True, metavar="DIR", help="Prune every backup set under DIR.")
@click.option("-a", "--all", "whole_root", is_flag=True, help="Prune every backup set under the backup root.")
@click.option("--backup-root", metavar="DIR", help="The backup root for --all (REX_BACKUP_ROOT).")
@_keep_options
@click.option("--lock-wait", metavar="DURATION", help="Wait this long for a concurrent run (default 60s).")
@click.option("--allow-unverified", is_flag=True,
              help="Prune a set none of whose backups rex-verify found good (default: leave it whole).")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be removed and why; change nothing.")
def command(inv, paths, trees, whole_root, backup_root, lock_wait, allow_unverified, dry_run, **keep):
    """Remove the backups of each set (directories, backup PATHs whose sets are
    taken, stdin, --tree DIR, or --all under the backup root) that no retention
    rule keeps; never the newest, nor the newest verified, and nothing of a set
    with no verified backup. Removed paths are printed on stdout."""
    from ..config.schema import RETENTION_KEYS
    from ..retention import local
    from ..retention.policy import chosen, policy_for, set_label

    config = inv.config
    given = {k: v for k, v in keep.items() if v is not None}
    if "keep_within" in given:
        from ..durations import parse_duration

        try:
            given["keep_within"] = parse_duration(given["keep_within"])
        except ValueError as exc:
            raise errors.UsageError(f"--keep-within: {exc}") from None
    try:
        default, rules = chosen(given, {k: config.get(f"prune.{k}") for k in RETENTION_KEYS},
                                config.get("prune.policies"))
    except ValueError:
        raise errors.UsageError(
            "no retention policy: give --keep-last, --keep-within, --keep-hourly, --keep-daily, "
            "--keep-weekly, --keep-monthly or --keep-yearly above 0 (or prune.keep_* / prune.policies in "
            "the configuration); without one nothing but the newest backup would be kept") from None
    codes, keys, removed = [], {}, []

    def error(message, code):
        log.error(message)
        codes.append(code)

    def emit(path, label, reason):
        removed.append(path)
        log.info(f"removed {path} ({reason})")
        inv.out.path(path, set=label, reason=reason)

    def take(find, source):
        try:
            keys.update(dict.fromkeys(find(source)))
            return True
        except errors.RexError as exc:
            error(exc.message, exc.code)
            return False

    for tree in (*trees, config.backup_root) if whole_root else trees:
        take(local.tree_sets, tree)
    if paths or not trees:
        for record in inv.records(paths):
            if take(local.operand_sets, record.path):
                codes.append(errors.OK)
    if keys:
        from ..backups.verify import VerificationLedger
        from ..paths import state_dir

        ledger = VerificationLedger(state_dir())
        try:
            for key in keys:
                label = set_label(*key)
                policy = policy_for(label, rules, default)
                if policy is None:
                    error(f"{label}: no retention policy matches this set (prune.policies); left as it is",
                          errors.USAGE)
                    continue
                result = local.prune_locked(
                    key, policy, ledger, config.get("lock_wait"), dry_run, config.get("prune.allow_unverified"),
                    on_plan=lambda plan: local.report(plan, policy, dry_run),
                    on_removed=lambda path, reason: emit(path, label, reason))
                if result is None:
                    continue
                if result.held:
                    error(local.held_message(result, key, dry_run), errors.PARTIAL)
                    continue
                for path, message in result.failed:
                    error(f"{path}: {message}", errors.PARTIAL)
                codes.append(errors.OK)
        finally:
            ledger.close()
    if removed and not dry_run:
        log.info(f"removed {len(removed)} backup(s)")
    return errors.worst(codes)
