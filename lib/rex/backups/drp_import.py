"""A project backup (.drp) brought back into Resolve as a new project, beside the
original and never over it: verified against its sidecar first (unless told not to),
named `<saved name> (restored <stamp>)` when the user gives no name."""

import os

from .. import paths
from .drp import project_name
from .verify import require_good


def import_backup(path, name=None, folder=None, verify=True, dry_run=False):
    """Import the .drp at `path` as `name` into `folder` ('A/B' from the root; None: the
    current folder) of the open library; a resolve.importer.Imported (what would be, for a
    dry run). Raises the error that says why not (nothing imported then)."""
    from ..resolve.connect import connect
    from ..resolve.importer import default_name, import_project

    require_good(path, verify)
    target = tuple(p for p in folder.split("/") if p) if folder is not None else None
    new_name = name or default_name(project_name(path), paths.stamp())
    pm = connect().GetProjectManager()
    return import_project(pm, os.path.abspath(path), new_name, target, dry_run=dry_run)
