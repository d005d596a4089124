"""Resolve and its ProjectManager: the project library seen one folder at a time.

The ProjectManager only ever sees the current folder of the current database, and
GetCurrentFolder() gives a bare name, so callers must track paths themselves.
"""
import os
import time
from datetime import datetime

from . import drp, library, store
from .base import SimObject, float_keyed
from .project import Project


def scriptapp(app="Resolve", *args, **kwargs):
    """Like the native call: None unless Resolve runs with external scripting on."""
    if app != "Resolve":
        return None  # no simulated Fusion
    with store.transaction() as st:
        if not st.get("running", True) or st.get("scripting", "Local") == "None":
            return None
        # Resolve 21.1 made all external scripting a Studio feature.
        if st.get("product") != "DaVinci Resolve Studio" and store.version(st) >= (21, 1, 0):
            return None
    return Resolve()


class Resolve(SimObject):
    def GetProjectManager(self):
        return ProjectManager()

    def GetVersion(self):
        with store.transaction() as st:
            return list(st["version"])

    def GetVersionString(self):
        v = self.GetVersion()
        return "%d.%d.%d.%04d" % tuple(v[:4]) + (" " + v[4] if v[4] else "")

    def GetProductName(self):
        with store.transaction() as st:
            return st.get("product", "DaVinci Resolve Studio")


class ProjectManager(SimObject):
    OPTIONAL = {"GetProjectAttributesInCurrentFolder": (21, 0, 3)}

    def GetCurrentProject(self):
        with store.transaction() as st:
            pid = st["current_project"]
            return Project(pid, st.get("generation", 0)) if pid and library.find_project(st, pid) else None

    def LoadProject(self, projectName):
        with store.transaction(write=True) as st:
            p = library.project_named(library.cwd(st), projectName)
            if p is None:
                return None
            library.open_project(st, p["id"])  # the open project, if any, is closed
            return Project(p["id"], st["generation"])

    def CreateProject(self, projectName):
        with store.transaction(write=True) as st:
            folder = library.cwd(st)
            if not projectName or library.project_named(folder, projectName):
                return None
            p = library.new_project(projectName)
            folder["projects"].append(p)
            library.open_project(st, p["id"])  # a new project opens at once
            return Project(p["id"], st["generation"])

    def CloseProject(self, project):
        with store.transaction(write=True) as st:
            if not isinstance(project, Project) or not project._live(st):
                return False
            library.open_project(st, None)
            return True

    def DeleteProject(self, projectName):
        with store.transaction(write=True) as st:
            folder = library.cwd(st)
            p = library.project_named(folder, projectName)
            if p is None or p["id"] == st["current_project"]:
                return False  # the open project cannot be deleted
            folder["projects"].remove(p)
            return True

    def GetProjectListInCurrentFolder(self):
        with store.transaction() as st:
            return [p["name"] for p in library.cwd(st)["projects"]]

    def GetFolderListInCurrentFolder(self):
        with store.transaction() as st:
            return list(library.cwd(st)["folders"])

    def GetProjectsInCurrentFolder(self):
        """Deprecated: {1.0: name, ...}."""
        with store.transaction() as st:
            return float_keyed([p["name"] for p in library.cwd(st)["projects"]])

    def GetFoldersInCurrentFolder(self):
        """Deprecated: {1.0: name, ...}."""
        with store.transaction() as st:
            return float_keyed(list(library.cwd(st)["folders"]))

    def GotoRootFolder(self):
        with store.transaction(write=True) as st:
            st["current_folder"] = []
            return True

    def GotoParentFolder(self):
        with store.transaction(write=True) as st:
            if not st["current_folder"]:
                return False
            st["current_folder"].pop()
            return True

    def OpenFolder(self, folderName):
        with store.transaction(write=True) as st:
            if folderName not in library.cwd(st)["folders"]:
                return False
            st["current_folder"].append(folderName)
            return True

    def GetCurrentFolder(self):
        with store.transaction() as st:
            return st["current_folder"][-1] if st["current_folder"] else ""

    def CreateFolder(self, folderName):
        with store.transaction(write=True) as st:
            folders = library.cwd(st)["folders"]
            if not folderName or folderName in folders:
                return False
            folders[folderName] = library.new_folder()
            return True

    def DeleteFolder(self, folderName):
        with store.transaction(write=True) as st:
            return library.cwd(st)["folders"].pop(folderName, None) is not None

    def ExportProject(self, projectName, filePath, withStillsAndLUTs=True):
        with store.transaction() as st:
            p = library.project_named(library.cwd(st), projectName)
            fails, delay, version = st["export_fails"], st["export_delay"], st["version"]
        if p is None or not os.path.isdir(os.path.dirname(os.path.abspath(filePath))):
            return False
        if fails == "false":
            return False
        data = {"nothing": None, "empty": b"", "notzip": b"DaVinci Resolve project\n"}.get(
            fails, drp.build(p, version, withStillsAndLUTs))
        if fails == "truncated":
            data = data[:len(data) // 2]
        if data is not None:
            with open(filePath, "wb") as f:  # like Resolve: written in place, not atomically
                f.write(data[:len(data) // 2])
                f.flush()
                time.sleep(delay)  # a slow export shows a growing partial file
                f.write(data[len(data) // 2:])
        else:
            time.sleep(delay)
        return True

    def ImportProject(self, filePath, projectName=None):
        p = drp.read(filePath)
        if p is None:
            return False
        with store.transaction(write=True) as st:
            p["name"] = projectName or p["name"]
            folder = library.cwd(st)
            if not p["name"] or library.project_named(folder, p["name"]):
                return False
            folder["projects"].append(p)
            return True

    def GetCurrentDatabase(self):
        with store.transaction() as st:
            return library.db_info(st["databases"][st["current_db"]])

    def GetDatabaseList(self):
        with store.transaction() as st:
            return [library.db_info(db) for db in st["databases"]]

    def SetCurrentDatabase(self, dbInfo):
        if not isinstance(dbInfo, dict):
            return False
        with store.transaction(write=True) as st:
            for i, db in enumerate(st["databases"]):
                if (db["DbType"], db["DbName"]) == (dbInfo.get("DbType"), dbInfo.get("DbName")) \
                        and dbInfo.get("IpAddress", db.get("IpAddress")) == db.get("IpAddress"):
                    st["current_db"], st["current_folder"] = i, []
                    library.open_project(st, None)  # switching libraries closes the project
                    return True
            return False

    def _opt_GetProjectAttributesInCurrentFolder(self):
        """Dates as state.set_date_format says (default ISO 8601 with the local offset,
        the form a public description of the call shows; the real format is unverified)."""
        forms = {"iso": lambda t: datetime.fromtimestamp(int(t)).astimezone().isoformat(),
                 "local": lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)),
                 "epoch": lambda t: "%d" % t}
        with store.transaction() as st:
            form = st.get("date_format", "iso")
            fmt = forms.get(form, lambda t: form)  # any other text is reported as is
            return {p["name"]: {"lastModifiedDate": fmt(p["modified"]),
                                "creationDate": fmt(p["created"])}
                    for p in library.cwd(st)["projects"]}
