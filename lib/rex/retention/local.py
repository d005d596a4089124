"""Pruning backup sets: the decision of rex.retention.policy, carried out on the files.

For each set: the newest verified backup is looked up in rex-verify's ledger
(a set with none loses nothing unless told), `retention.decide` says what goes, `retention.plan_removal` orders the file
operations so that no kept link ever dangles, and `execute` performs them, each
step atomic (a link replaced by a rename, a file renamed over a link), deleting
each backup before its sidecar. A run killed midway leaves every kept backup
valid; at worst a sidecar whose backup is gone, which the next run of the
writing commands removes.
"""

import contextlib
import os
from dataclasses import dataclass, field

from .. import checksum, fsutil
from ..backups import sets as backupset
from . import policy as retention
from ..errors import DataError


@dataclass
class SetResult:
    label: str
    decisions: list          # [(Backup, Decision)], oldest first
    plan: object = None
    removed: list = field(default_factory=list)
    failed: list = field(default_factory=list)    # [(path, message)]

    @property
    def held(self):
        """True when the policy would remove backups but none of the set is known good."""
        return any(retention.HELD in d.reasons for _b, d in self.decisions)


def newest_verified(backups, ledger):
    """The newest of `backups` (oldest first) that rex-verify last found good, or None."""
    if ledger is None:
        return None
    for backup in reversed(backups):
        if ledger.last_ok(backup.path) is not None:
            return backup
    return None


def entries(backups):
    """retention.Entry for each backup: its path and, for a symbolic link, the text it holds."""
    found = []
    for backup in backups:
        try:
            link = os.readlink(backup.path)
        except OSError:
            link = None
        found.append(retention.Entry(backup.path, link))
    return found


def plan_set(backups, policy, ledger=None, allow_unverified=False):
    """(SetResult, newest verified Backup) for the backups of one set (oldest first).
    A set none of whose backups is known good loses nothing unless `allow_unverified`."""
    verified = newest_verified(backups, ledger)
    decisions = retention.decide([b.stamp for b in backups], policy, verified.stamp if verified else None,
                                 unverified_ok=allow_unverified)
    label = retention.set_label(*backups[0].set_key) if backups else ""
    result = SetResult(label, list(zip(backups, decisions)))
    remove = [b.path for b, d in result.decisions if not d.keep]
    result.plan = retention.plan_removal(entries(backups), remove)
    return result, verified


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


def prune_set(backups, policy, ledger=None, dry_run=False, on_removed=None, allow_unverified=False):
    """Decide, plan and (unless dry_run) carry out the pruning of one set."""
    result, _verified = plan_set(backups, policy, ledger, allow_unverified)
    if not dry_run:
        execute(result, on_removed)
    return result


def set_members(key):
    return backupset.members(*key)
