"""Exporting one Resolve project to a checked .drp under the backup root.

Layout: `<root>/<library>/<folder>/.../<project>/<project>_<stamp>.drp`, every
component made safe, so projects that share a name in different folders never
collide and no name escapes the root. Resolve writes the export itself, to a
temporary name; it counts only if the file exists, is non-empty and is a valid
project ZIP — Resolve has been seen to report success for exports that are not.
"""

import contextlib
import os
from dataclasses import dataclass

from .. import fsutil, log, paths
from . import drp, sets
from .export_plan import SUFFIX, by_database, target_dir
from ..errors import OK, PARTIAL, DataError, IOFailure, RexError

def export_project(pm, ref, root, stills=True):
    """Export `ref` (its folder must be the current one); returns (path, md5, size)."""
    directory = target_dir(root, ref)
    fsutil.makedirs(directory)
    sets.clean_directory(directory)
    final = sets.fresh_path(directory, paths.safe_name(ref.name), SUFFIX)
    temp = fsutil.temp_path(final) + SUFFIX   # Resolve wants the .drp extension
    try:
        if not pm.ExportProject(ref.name, temp, bool(stills)):
            raise RexError(f"{ref.describe()}: Resolve could not export the project", code=1)
        if not os.path.exists(temp):
            raise DataError(f"{ref.describe()}: Resolve reported success but wrote no file")
        digest, size, _ = sets.publish(temp, final, lambda t, f: drp.check(t))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        with contextlib.suppress(OSError):
            os.rmdir(directory)
        raise
    return final, digest, size


def export_target(pm, target, root, ledger, stills=True):
    """Export one planned project (export_plan.Target), then remember it in the ledger."""
    from ..resolve import api

    if not api.goto(pm, target.ref.folder):
        raise RexError(f"{target.ref.describe()}: folder disappeared", code=1)
    path, digest, size = export_project(pm, target.ref, root, stills)
    ledger.record(target.ref, target.modified, path)
    return path, digest, size


@dataclass(frozen=True)
class Exported:
    """How the export of one planned project ended: its .drp, or the exit code of its failure."""
    target: object
    code: int
    path: str = None
    md5: str = None
    size: int = None


def export_all(pm, targets, root, ledger, stills=True):
    """Export planned targets library by library, the user's library and folder put back
    after each; yields an Exported per project (and per library that vanished, code 1),
    each failure named on stderr. A disk that fails (74) fails that project only."""
    from ..resolve import api

    for db_name, group in by_database(targets):
        try:
            with api.database_selected(pm, db_name), api.user_folder_kept(pm):
                for target in group:
                    yield _export_one(pm, target, root, ledger, stills)
        except LookupError:
            log.error(f"no project library named {db_name!r}")
            yield Exported(None, PARTIAL)


def _export_one(pm, target, root, ledger, stills):
    try:
        path, digest, size = export_target(pm, target, root, ledger, stills)
    except IOFailure as exc:
        log.error(exc.message)
        return Exported(target, exc.code)
    except RexError as exc:
        log.error(exc.message)
        return Exported(target, PARTIAL)
    return Exported(target, OK, path, digest, size)
