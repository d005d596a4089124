"""Backup sets: the backups of one project or one library, ordered by the stamp in
their names (`<name>_<YYYYMMDDTHHMMSSZ><ext>`), never by mtime."""

import contextlib
import os
import time
from dataclasses import dataclass

from . import checksum, paths
from .fsutil import is_temp


@dataclass(frozen=True, order=True)
class Backup:
    stamp: str
    path: str
    name: str
    ext: str

    @property
    def directory(self):
        return os.path.dirname(self.path)

    @property
    def set_key(self):
        return (self.directory, self.name, self.ext)


def _order(backup):
    """Sort key: stamp, then path (unique), as the dataclass order but compared in C, not per field in Python."""
    return backup.stamp, backup.path


def parse(path):
    """The Backup for `path`, or None if its name is not a backup name."""
    base = os.path.basename(path)
    if is_temp(base) or base.endswith(checksum.SUFFIX):
        return None
    parts = paths.split_backup_name(base)
    if parts is None:
        return None
    name, stamp, ext = parts
    return Backup(stamp, path, name, ext)


def members(directory, name=None, ext=None):
    """Backups in `directory` (of one set when name/ext given), oldest first."""
    found = []
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return found
    for entry in entries:
        backup = parse(os.path.join(directory, entry))
        if backup and (name is None or (backup.name == name and backup.ext == ext)):
            found.append(backup)
    return sorted(found, key=_order)


def previous(backup):
    """The newest backup of the same set older than `backup`, or None."""
    older = [b for b in members(backup.directory, backup.name, backup.ext) if b.stamp < backup.stamp]
    return older[-1] if older else None


def sets_under(root):
    """{set key: [Backup, ...] oldest first} for every backup under `root`."""
    sets = {}
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for entry in files:
            backup = parse(os.path.join(directory, entry))
            if backup:
                sets.setdefault(backup.set_key, []).append(backup)
    return {key: sorted(value, key=_order) for key, value in sets.items()}


def fresh_path(directory, base, suffix):
    """`<base>_<stamp><suffix>` in `directory` that does not exist yet (waits a second if needed)."""
    while True:
        final = os.path.join(directory, f"{base}_{paths.stamp()}{suffix}")
        if not os.path.lexists(final):
            return final
        time.sleep(1.05 - (time.time() % 1))


def clean_directory(directory):
    """Remove leftovers of killed runs: temporary files whose writer is gone, and the
    sidecar such a run left beside its temporary file with nothing under the final name
    (publish writes the sidecar before the rename; rex-prune renames a backup to a
    temporary name before it removes the sidecar). Any other sidecar whose backup is
    gone stays: it may be the only trace of a lost backup, and rex-verify -r names it."""
    from .fsutil import TEMP_MARK, clean_leftovers

    for temp in clean_leftovers(directory):
        base = os.path.basename(temp)
        final = os.path.join(directory, base[1:base.index(TEMP_MARK)])
        if not os.path.lexists(final):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(checksum.sidecar_path(final))


def publish(temp, final, check=None):
    """Give a finished temporary file its sidecar and final name: (md5, size, check result).

    It must be non-empty and pass `check(temp, final)`; it is hashed while still in
    the page cache; the sidecar is written first, so a backup under its final name
    always has one (a sidecar orphaned by a kill is removed by clean_directory).
    """
    from .errors import DataError
    from .fsutil import commit

    size = os.path.getsize(temp)
    if size == 0:
        raise DataError(f"{final}: empty")
    detail = check(temp, final) if check else None
    digest = checksum.md5_file(temp)
    checksum.write_sidecar(final, digest)
    try:
        commit(temp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(checksum.sidecar_path(final))
        raise
    return digest, size, detail


def lock_name(key):
    """The job lock of one set (directory, name, extension), taken by every command that
    changes a set's files (rex-dedupe, rex-prune), so they never work on one at once."""
    import hashlib

    digest = hashlib.sha1("\0".join(key).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"set-{digest}"
