"""Exporting one Resolve project to a checked .drp under the backup root.

Layout: `<root>/<library>/<folder>/.../<project>/<project>_<stamp>.drp`, every
component made safe, so projects that share a name in different folders never
collide and no name escapes the root. Resolve writes the export itself, to a
temporary name; it counts only if the file exists, is non-empty and is a valid
project ZIP — Resolve has been seen to report success for exports that are not.
"""

import contextlib
import os
import time

from . import backupset, drp, fsutil, paths
from .errors import DataError, RexError
from .statedb import open_db

SUFFIX = ".drp"


def target_dir(root, ref):
    return paths.join_safe(root, ref.database, *ref.folder, ref.name)


def export_project(pm, ref, root, stills=True):
    """Export `ref` (its folder must be the current one); returns (path, md5, size)."""
    directory = target_dir(root, ref)
    fsutil.makedirs(directory)
    backupset.clean_directory(directory)
    final = backupset.fresh_path(directory, paths.safe_name(ref.name), SUFFIX)
    temp = fsutil.temp_path(final) + SUFFIX   # Resolve wants the .drp extension
    try:
        if not pm.ExportProject(ref.name, temp, bool(stills)):
            raise RexError(f"{ref.describe()}: Resolve could not export the project", code=1)
        if not os.path.exists(temp):
            raise DataError(f"{ref.describe()}: Resolve reported success but wrote no file")
        digest, size, _ = backupset.publish(temp, final, lambda t, f: drp.check(t))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        with contextlib.suppress(OSError):
            os.rmdir(directory)
        raise
    return final, digest, size


class ExportLedger:
    """The modification time Resolve reported at each project's last export."""

    def __init__(self, directory):
        self.db = open_db(directory, "exports.sqlite", "CREATE TABLE IF NOT EXISTS export (project TEXT PRIMARY KEY, "
                          "modified TEXT, path TEXT, exported REAL)")

    def unchanged(self, ref, modified):
        """True when the project's modification time equals that of its last export, which still exists."""
        if not modified:
            return False
        row = self.db.execute("SELECT modified, path FROM export WHERE project = ?", (ref.key,)).fetchone()
        return bool(row) and row[0] == str(modified) and os.path.exists(row[1])

    def record(self, ref, modified, path):
        self.db.execute("INSERT OR REPLACE INTO export VALUES (?, ?, ?, ?)",
                        (ref.key, str(modified) if modified else None, path, time.time()))

    def close(self):
        self.db.close()
