"""Pruning backup sets: the decision of rex.retention.policy, carried out on the files.

For each set: the newest verified backup is looked up in rex-verify's ledger
(a set with none loses nothing unless told), `decide` says what goes, `plan_removal` orders the file
operations so that no kept link ever dangles, and `execute` performs them, each
step atomic (a link replaced by a rename, a file renamed over a link), deleting
each backup before its sidecar. A run killed midway leaves every kept backup
valid; at worst a sidecar whose backup is gone, which the next run of the
writing commands removes.
"""

import contextlib
import os
from dataclasses import dataclass, field

from .. import checksum, fsutil, log
from ..backups import sets
from .policy import HELD, Entry, decide, plan_removal, set_label
from ..errors import DataError


@dataclass
class SetResult:
    label: str
    decisions: list          # [(Backup, Decision)], oldest first
    plan: object = None
    removed: list = field(default_factory=list)
    failed: list = field(default_factory=list)    # [(path, message)]
    verified: object = None                         # the newest Backup known good, or None

    @property
    def held(self):
        """True when the policy would remove backups but none of the set is known good."""
        return any(HELD in d.reasons for _b, d in self.decisions)


def newest_verified(backups, ledger):
    """The newest of `backups` (oldest first) that rex-verify last found good, or None."""
    if ledger is None:
        return None
    for backup in reversed(backups):
        if ledger.last_ok(backup.path) is not None:
            return backup
    return None


def entries(backups):
    """Entry for each backup: its path and, for a symbolic link, the text it holds."""
    found = []
    for backup in backups:
        try:
            link = os.readlink(backup.path)
        except OSError:
            link = None
        found.append(Entry(backup.path, link))
    return found


def _relink(link, target):
    """Replace the symbolic link `link` by a relative link to `target`, atomically."""
    temp = fsutil.temp_path(link)
    try:
        os.symlink(os.path.relpath(target, os.path.dirname(os.path.abspath(link))), temp)
        os.replace(temp, link)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _delete(path):
    """Delete a backup, then its sidecar. The backup first goes to a temporary name: a run
    killed before the sidecar is gone leaves that name as the proof that the sidecar is an
    orphan of ours, which the next writer in the directory removes (clean_directory)."""
    import stat

    if stat.S_ISDIR(os.lstat(path).st_mode):    # unlink would fail: fail as it does, nothing renamed
        import errno

        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    temp = fsutil.temp_path(path)
    os.replace(path, temp)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(checksum.sidecar_path(path))
    os.unlink(temp)


def _move(src, dst):
    """Rename the real file `src` over the kept link `dst`; its recorded digest follows it."""
    if not os.path.islink(dst):
        raise OSError(f"{dst} is no longer a link")
    try:
        digest = checksum.read_sidecar(src)
    except (OSError, DataError):
        digest = None
    os.replace(src, dst)
    fsutil.fsync_dir(os.path.dirname(os.path.abspath(dst)))
    if digest is not None:
        try:
            same = checksum.read_sidecar(dst) == digest
        except (OSError, DataError):
            same = False
        if not same:
            checksum.write_sidecar(dst, digest)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(checksum.sidecar_path(src))


def execute(result, on_removed=None):
    """Carry out result.plan; fills result.removed and result.failed."""
    plan = result.plan
    broken = set()

    def fail(path, exc):
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        result.failed.append((path, message))

    def blocked(path):
        bad = [link for link in plan.needs.get(path, ()) if link in broken]
        if bad:
            result.failed.append((path, f"kept: the link {bad[0]} could not be re-pointed"))
        return bool(bad)

    def done(path):
        result.removed.append(path)
        if on_removed:
            on_removed(path)

    for link, target in plan.repoint:
        try:
            _relink(link, target)
        except OSError as exc:
            broken.add(link)
            fail(link, exc)
    if plan.repoint:
        with contextlib.suppress(OSError):
            fsutil.fsync_dir(os.path.dirname(os.path.abspath(plan.repoint[0][0])))
    for path in plan.delete_links:
        if not blocked(path):
            try:
                _delete(path)
                done(path)
            except OSError as exc:
                fail(path, exc)
    for src, dst in plan.moves:
        if not blocked(src):
            try:
                _move(src, dst)
                done(src)
            except OSError as exc:
                fail(src, exc)
    for path in plan.delete_files:
        try:
            _delete(path)
            done(path)
        except OSError as exc:
            fail(path, exc)
    directories = {os.path.dirname(os.path.abspath(p)) for p in result.removed}
    for directory in directories:
        with contextlib.suppress(OSError):
            fsutil.fsync_dir(directory)
    return result


def prune_set(backups, policy, ledger=None, dry_run=False, on_removed=None, allow_unverified=False,
              on_plan=None):
    """Decide, plan and (unless dry_run, or the set is held: none of it known good) carry out the
    pruning of one set (backups oldest first); `on_plan(result)` is told the plan before any change,
    `on_removed(path, reason)` each backup removed."""
    verified = newest_verified(backups, ledger)
    decisions = decide([b.stamp for b in backups], policy, verified.stamp if verified else None,
                                 unverified_ok=allow_unverified)
    label = set_label(*backups[0].set_key) if backups else ""
    result = SetResult(label, list(zip(backups, decisions)), verified=verified)
    remove = [b.path for b, d in result.decisions if not d.keep]
    result.plan = plan_removal(entries(backups), remove)
    if on_plan:
        on_plan(result)
    if not dry_run and not result.held:
        # Not a scan per removal: by normalised path, as the plan names them.
        reasons = {os.path.normpath(b.path): d.reason for b, d in result.decisions}
        execute(result, on_removed and (lambda path: on_removed(path, reasons[path])))
    return result


def prune_locked(key, policy, ledger=None, lock_wait=None, dry_run=False, allow_unverified=False,
                 on_removed=None, on_plan=None):
    """prune_set on the set `key` (directory, name, extension) as it is once its job lock is held
    (rex-dedupe may be changing it); None when the set has no backup left."""
    from ..fsutil import job_lock

    with job_lock(sets.lock_name(key), wait=lock_wait):
        backups = sets.members(*key)
        if not backups:
            return None
        return prune_set(backups, policy, ledger, dry_run, on_removed, allow_unverified, on_plan)


def operand_sets(path):
    """The set keys a PATH operand names: those of the backups in a directory (none: a notice),
    or the set of one backup. NoInput or DataError when it names no set."""
    from ..errors import NoInput

    if os.path.isdir(path):
        found = sets.members(path)
        if not found:
            log.notice(f"{path}: no backups")
        return list(dict.fromkeys(b.set_key for b in found))
    why = sets.unusable(path)
    if why == sets.MISSING:
        raise NoInput(f"{path}: no such file or directory")
    backup = sets.parse(path)
    if backup is None:
        raise DataError(f"{path}: not a backup name (NAME_YYYYMMDDTHHMMSSZ.EXT) nor a directory")
    if why:
        raise DataError(f"{path}: {why}, not a backup; its set is not taken")
    return [backup.set_key]


def tree_sets(root):
    """The set keys of every backup under `root`, sorted; NoInput when it is no directory."""
    from ..errors import NoInput

    if not os.path.isdir(root):
        raise NoInput(f"{root}: not a directory")
    return sorted(sets.sets_under(root))


def held_message(result, key, dry_run):
    """Why a set none of whose backups is known good lost nothing, and what to do."""
    import shlex

    return (f"{result.label}: no backup of this set is known to be verified good, so none "
            f"{'would be' if dry_run else 'was'} removed; verify them first "
            f"(rex-verify -r {shlex.quote(key[0])}) or give --allow-unverified")


def report(result, policy, dry_run):
    """Log the plan of one set: the policy, each backup kept or removed and why, the link moves
    (notices in a dry run, else details)."""
    say = log.notice if dry_run else log.debug
    verified = result.verified
    kept = sum(1 for _b, d in result.decisions if d.keep)
    gone = len(result.decisions) - kept
    say(f"{result.label}: {policy.describe()}; newest verified: "
        f"{os.path.basename(verified.path) if verified else 'none'}; "
        f"{kept} kept, {gone} {'would go' if dry_run else 'to remove'}")
    if verified is None and gone:
        log.warning(f"{result.label}: no backup of this set is known to be verified good (rex-verify); "
                    "pruned by its policy alone, as --allow-unverified says")
    for backup, decision in reversed(result.decisions):
        if decision.keep:
            say(f"keep {backup.path}: {decision.reason}")
        else:
            say(f"{'would remove' if dry_run else 'remove'} {backup.path}: {decision.reason}")
    act = log.notice if dry_run else log.info
    for src, dst in result.plan.moves:
        act(f"{'would move' if dry_run else 'move'} {src} over its kept link {dst}")
    for link, target in result.plan.repoint:
        act(f"{'would re-point' if dry_run else 're-point'} {link} -> {os.path.basename(target)}")
