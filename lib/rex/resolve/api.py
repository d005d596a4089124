"""A thin layer over Resolve's project manager.

The API sees only the current folder of the project library, and
GetCurrentFolder() returns a bare name, so the walker tracks the path itself and
always puts the user back in the folder they were in. hasattr() is true for every
name on a Resolve object, so optional calls are detected with dir().
"""

import contextlib
from dataclasses import dataclass

from ..errors import TempFail


def has_call(obj, name):
    """True when `obj` really offers `name` (hasattr lies on Resolve objects)."""
    try:
        return name in dir(obj)
    except Exception:
        return False


@dataclass(frozen=True)
class ProjectRef:
    database: str
    folder: tuple      # folder names from the root
    name: str

    @property
    def key(self):
        return "\x1f".join((self.database, *self.folder, "", self.name))

    def describe(self):
        return "/".join((self.database, *self.folder, self.name))


def current_folder_path(pm):
    """The path of the current folder, found by climbing to the root (and back)."""
    names = []
    while True:
        name = pm.GetCurrentFolder()
        if not pm.GotoParentFolder():
            break
        names.append(name)
    path = tuple(reversed(names))
    goto(pm, path)
    return path


def goto(pm, path):
    """Open the folder at `path` from the root; False if some folder is missing."""
    pm.GotoRootFolder()
    for name in path:
        if not pm.OpenFolder(name):
            return False
    return True


@contextlib.contextmanager
def user_folder_kept(pm):
    """Whatever happens inside, the user ends in the folder they were in."""
    path = current_folder_path(pm)
    try:
        yield path
    finally:
        goto(pm, path)


def walk(pm, start=()):
    """(folder path, [project names]) for `start` and every folder below it, depth first."""
    if not goto(pm, start):
        raise LookupError("/".join(start))
    stack = [start]
    while stack:
        path = stack.pop()
        goto(pm, path)
        projects = list(pm.GetProjectListInCurrentFolder() or [])
        attributes = {}
        if has_call(pm, "GetProjectAttributesInCurrentFolder"):
            attributes = pm.GetProjectAttributesInCurrentFolder() or {}
        yield path, projects, attributes
        for folder in sorted(pm.GetFolderListInCurrentFolder() or [], reverse=True):
            stack.append(path + (folder,))


def database_name(info):
    return (info or {}).get("DbName") or "Local Database"


def user_project_open(pm):
    """The name of the project the user has open, or None (Untitled counts as none)."""
    project = pm.GetCurrentProject()
    if project is None:
        return None
    name = project.GetName()
    return None if not name or name.startswith("Untitled Project") else name


@contextlib.contextmanager
def database_selected(pm, name):
    """Switch to database `name` for the block, and back; only when no project is open.

    SetCurrentDatabase closes the open project, so Rex refuses to switch while the
    user works on one (TempFail: try again when they are done).
    """
    current = pm.GetCurrentDatabase() or {}
    if database_name(current) == name:
        yield current
        return
    target = next((db for db in pm.GetDatabaseList() or [] if database_name(db) == name), None)
    if target is None:
        raise LookupError(name)
    open_project = user_project_open(pm)
    if open_project:
        raise TempFail(f"project {open_project!r} is open in {database_name(current)}; switching to {name} "
                       "would close it (try again later)")
    with user_folder_kept(pm):
        if not pm.SetCurrentDatabase(target):
            raise TempFail(f"Resolve refused to switch to database {name}")
        try:
            yield target
        finally:
            pm.SetCurrentDatabase(current)
