"""Importing a project file into the open library, never over an existing project.

ImportProject(filePath, projectName) imports into the project manager's current
folder and returns a bare False when a project of that name is already there
(or the file does not suit it). Rex looks first, so the usual refusal gets a
clear message, and treats False as failure whatever the reason. The user is
put back in the folder they were in.
"""

from dataclasses import dataclass

from ..errors import CantCreate, DataError, NoInput
from .api import database_name, goto, user_folder_kept


@dataclass(frozen=True)
class Imported:
    database: str
    folder: tuple
    name: str


def default_name(saved_name, stamp):
    """The name of a restored copy when the user gives none: beside the original, not over it."""
    return f"{saved_name or 'Restored project'} (restored {stamp})"


def import_project(pm, path, name, folder=None, dry_run=False):
    """Import the .drp at `path` as `name` into `folder` (a tuple of names from the
    root) or the current folder; an Imported, or CantCreate (73) if the name is taken."""
    database = database_name(pm.GetCurrentDatabase())
    with user_folder_kept(pm) as here:
        target = here if folder is None else tuple(folder)
        if folder is not None and not goto(pm, target):
            raise NoInput(f"no folder {'/'.join(target)!r} in the project library {database!r}")
        where = "/".join((database, *target))
        if name in (pm.GetProjectListInCurrentFolder() or []):
            raise CantCreate(f"a project named {name!r} exists in {where}; choose another with --name")
        if dry_run:
            return Imported(database, target, name)
        if not pm.ImportProject(path, name):
            if name in (pm.GetProjectListInCurrentFolder() or []):
                raise CantCreate(f"a project named {name!r} appeared in {where} meanwhile; not replaced")
            raise DataError(f"{path}: Resolve refused to import it into {where} (a project file from a newer "
                            "Resolve, or damaged?)")
        return Imported(database, target, name)
