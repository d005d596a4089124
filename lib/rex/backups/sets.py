"""What a backup is, the one walk over a tree, and backup sets: the backups of one
project or one library, ordered by the stamp in their names, never by mtime.

A backup is a directory entry named `<name>_<YYYYMMDDTHHMMSSZ><ext>` that is a regular
file or a link ending at one. Not a backup, whatever it holds: a sidecar (`.md5`), a
temporary (a hidden name, as Rex's `.NAME.rex-tmp-*` and rsync's, or one ending in
`.part`, `.partial`, `.tmp` or `~`), a name without a stamp (even with a sidecar or
a `.backup` suffix). Anything else under a backup's name (a directory, a FIFO, a
link that dangles or loops) is named once and skipped. `walk` applies this rule for
every command that takes a tree (rex-verify -r, rex-upload --sync, rex-prune --tree,
rex-dedupe --tree), so they agree about what is a backup; rex-verify alone also
passes on a link that leads nowhere, to report it as a lost backup.
"""

import contextlib
import errno
import os
import stat
import time
from dataclasses import dataclass

from .. import checksum, log, paths


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


TEMP_SUFFIXES = (".part", ".partial", ".tmp", "~")     # others' copies in progress


def parse(path):
    """The Backup for `path`, or None if its name is not a backup name."""
    base = os.path.basename(path)
    if base.startswith(".") or base.endswith((checksum.SUFFIX, *TEMP_SUFFIXES)):
        return None
    parts = paths.split_backup_name(base)
    if parts is None:
        return None
    name, stamp, ext = parts
    return Backup(stamp, path, name, ext)


MISSING = "no such file"


def unusable(path):
    """None when `path` can be a backup: a regular file, or a link that ends at one.
    Otherwise what it is instead, for a message. The one test of what a backup is,
    for every command: a directory or a FIFO named like a backup is none, nor is a
    link that dangles or loops."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if not os.path.lexists(path):
            return MISSING
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if exc.errno == errno.ENOENT:
            return "a dangling link"
        return exc.strerror or str(exc)
    if stat.S_ISREG(mode):
        return None
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def is_file(entry):
    """`unusable(entry.path) is None` for an os.DirEntry, without a stat for a plain file."""
    try:
        return entry.is_file()
    except OSError:          # a link loop
        return False


_skipped = set()


def skip(path, why=None):
    """Name (once a run) a thing under a backup's name that is not a backup, and go on."""
    if path not in _skipped:
        _skipped.add(path)
        log.warning(f"{path}: {why or unusable(path)} under a backup's name; skipped, not a backup")


def _scan(directory):
    """The entries of `directory` by name, [] when it is gone."""
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _backups(entries, wanted=None, lost=False):
    """The Backups among `entries` (wanted(Backup) filters); the rest named like one are
    skipped, but with `lost`, a link that leads nowhere is yielded too."""
    for entry in entries:
        backup = parse(entry.path)
        if backup is not None and (wanted is None or wanted(backup)):
            if is_file(entry) or (lost and entry.is_symlink() and not os.path.exists(entry.path)):
                yield backup
            else:
                skip(entry.path)


def backups_among(entries):
    """The Backups among the os.DirEntry `entries` of one directory, by this module's rule:
    for a cache that reads one changed directory again instead of walking the tree."""
    return list(_backups(entries))


def members(directory, name=None, ext=None):
    """Backups in `directory` (of one set when name/ext given), oldest first."""
    wanted = None if name is None else (lambda b: b.name == name and b.ext == ext)
    return sorted(_backups(_scan(directory), wanted), key=_order)


def named(directory, name, ext):
    """Everything in `directory` named like a backup of one set, usable or not, oldest
    first: for a caller to whom a lost backup (a dangling link) is news, not noise."""
    found = (parse(entry.path) for entry in _scan(directory))
    return sorted((b for b in found if b is not None and b.name == name and b.ext == ext), key=_order)


def previous(backup):
    """The newest backup of the same set older than `backup`, or None."""
    older = [b for b in members(backup.directory, backup.name, backup.ext) if b.stamp < backup.stamp]
    return older[-1] if older else None


def directories_under(root):
    """(directory, its entries by name) for `root` and every directory below it, top
    down in name order; like os.walk, links to directories are not followed."""
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        yield directory, entries
        below = []
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    below.append(entry.path)
        pending.extend(reversed(below))


def walk(root, lost=False):
    """Every backup under `root` (the rule in this module's docstring), in walk order:
    directories top down, names sorted. With `lost`, also each link under a backup's
    name that leads nowhere (rex-verify reports it as a lost backup)."""
    for _directory, entries in directories_under(root):
        yield from _backups(entries, lost=lost)


def sets_under(root):
    """{set key: [Backup, ...] oldest first} for every backup under `root` (walk)."""
    found = {}
    for backup in walk(root):
        found.setdefault(backup.set_key, []).append(backup)
    return {key: sorted(value, key=_order) for key, value in found.items()}


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
    from ..fsutil import TEMP_MARK, clean_leftovers

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
    from ..errors import DataError
    from ..fsutil import commit

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
    changes a set's files (rex-dedupe, rex-prune), so they never work on one at once, however
    each spells its directory."""
    import hashlib

    key = (os.path.realpath(key[0]), *key[1:])
    digest = hashlib.sha1("\0".join(key).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"set-{digest}"
