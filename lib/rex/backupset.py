"""Backup sets: the backups of one project or one library, ordered by the stamp in
their names (`<name>_<YYYYMMDDTHHMMSSZ><ext>`), never by mtime."""

import os
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
    return sorted(found)


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
    return {key: sorted(value) for key, value in sets.items()}
