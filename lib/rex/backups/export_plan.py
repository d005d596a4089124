"""Which projects rex-export exports: the walk through the libraries, and the check
that skips a project unchanged since its newest good backup.

The backup tree is the truth and the ledger only a cache. A project is unchanged
when the modification date Resolve reports (21.0.3+) ends before the stamp of its
newest backup and that backup matches its sidecar; the ledger remembers the answer
(date and backup), so the next run with the same date skips without reading the
tree. With no ledger row (Resolve just upgraded, the state directory lost, another
machine exporting into the same tree) the tree answers, at the cost of one md5 read
of one backup per project.
"""

import fnmatch
import os
import time
from dataclasses import dataclass

from .. import checksum, errors, log, paths
from . import sets
from ..statedb import open_db

SUFFIX = ".drp"


def target_dir(root, ref):
    """Where the backups of project `ref` live: library/folder.../project under `root`."""
    return paths.join_safe(root, ref.database, *ref.folder, ref.name)


@dataclass(frozen=True)
class Target:
    ref: object          # resolve.api.ProjectRef
    modified: object     # lastModifiedDate as Resolve reported it; None before 21.0.3


def plan(pm, databases, all_databases, start, patterns):
    """[Target] for every selected project, walking each library's folders from `start`."""
    from ..resolve import api

    current = api.database_name(pm.GetCurrentDatabase())
    if all_databases:
        names = [api.database_name(db) for db in pm.GetDatabaseList() or []]
    else:
        names = list(dict.fromkeys(databases)) or [current]
    targets = []
    for name in names:
        try:
            with api.database_selected(pm, name), api.user_folder_kept(pm):
                for path, projects, attributes in api.walk(pm, start):
                    for project in projects:
                        if patterns and not any(fnmatch.fnmatchcase(project, p) for p in patterns):
                            continue
                        modified = (attributes.get(project) or {}).get("lastModifiedDate")
                        targets.append(Target(api.ProjectRef(name, path, project), modified))
        except LookupError as exc:
            raise errors.UsageError(f"no such project library or folder: {exc}") from None
    return targets


def by_database(targets):
    """[(database name, [Target])], each library once, in the order first met."""
    groups = {}
    for target in targets:
        groups.setdefault(target.ref.database, []).append(target)
    return list(groups.items())


class ExportLedger:
    """Per project: the date Resolve reported and the backup known to hold that state."""

    def __init__(self, directory):
        self.db = open_db(directory, "exports.sqlite", "CREATE TABLE IF NOT EXISTS export (project TEXT PRIMARY KEY, "
                          "modified TEXT, path TEXT, exported REAL)")

    def last(self, ref):
        """(modified, path) recorded for `ref`, or None."""
        return self.db.execute("SELECT modified, path FROM export WHERE project = ?", (ref.key,)).fetchone()

    def record(self, ref, modified, path):
        self.db.execute("INSERT OR REPLACE INTO export VALUES (?, ?, ?, ?)",
                        (ref.key, str(modified) if modified else None, path, time.time()))

    def close(self):
        self.db.close()


def _stamp_seconds(path):
    parts = paths.split_backup_name(os.path.basename(path))
    return paths.parse_stamp(parts[1]) if parts else None


def newest_backup(ref, root):
    """The newest backup of `ref` under `root` by the stamp in its name, or None. A directory
    named like one is no backup; a dangling link is a lost backup, so it counts (and fails
    its check, and the project is exported again)."""
    found = [b for b in sets.named(target_dir(root, ref), paths.safe_name(ref.name), SUFFIX)
             if not os.path.isdir(b.path)]
    return found[-1] if found else None


def sidecar_problem(path):
    """Why `path` is no good backup (its sidecar missing, malformed or not matching), or None.
    A link left by rex-dedupe is checked through its target, against its own sidecar."""
    try:
        expected = checksum.read_sidecar(path)
        actual = checksum.md5_file(path)
    except FileNotFoundError:
        return "no such file" if not os.path.exists(path) else "no sidecar"
    except errors.RexError as exc:
        return exc.message
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    return None if actual == expected else "does not match its sidecar"


class Unchanged:
    """Decides, project by project, whether an export can be skipped."""

    def __init__(self, root, ledger, force=False, remember=True):
        self.root, self.ledger, self.force, self.remember = root, ledger, force, remember
        self.warned = False

    def why(self, target):
        """Why `target` needs no export (a phrase for the log), or None to export it."""
        from ..resolve.dates import changed_before

        if self.force or target.modified in (None, ""):
            return None
        end = changed_before(target.modified)
        if end is None:
            if not self.warned:
                log.warning(f"{target.ref.describe()}: cannot read the modification date Resolve reports "
                            f"({target.modified!r}); such projects are exported on every run")
                self.warned = True
            return None
        row = self.ledger.last(target.ref)
        if row and row[0] == str(target.modified) and os.path.exists(row[1]) \
                and (_stamp_seconds(row[1]) or 0) >= end:
            return "unchanged since its last export"
        newest = newest_backup(target.ref, self.root)
        if newest is None or paths.parse_stamp(newest.stamp) < end:
            return None
        problem = sidecar_problem(newest.path)
        if problem:
            log.warning(f"{newest.path}: {problem}; exporting {target.ref.describe()} again")
            return None
        if self.remember:
            self.ledger.record(target.ref, target.modified, newest.path)
        return f"unchanged since {os.path.basename(newest.path)}"

    def changed(self, targets):
        """The targets that need an export; each skipped one is named at -v."""
        todo = []
        for target in targets:
            reason = self.why(target)
            if reason:
                log.info(f"{target.ref.describe()}: {reason}")
            else:
                todo.append(target)
        return todo
