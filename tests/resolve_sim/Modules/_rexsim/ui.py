"""What a user does in Resolve's UI while a script runs (acted out by base's call hooks).

Actions: "reload" (close the open project and open it again), "close",
"open:NAME" (open another project of the current folder), "database:NAME"
(switch project library, which closes the open project). Each makes every handle
reached from the project that was open stale, as in Resolve.
"""
from . import library


def act(st, action):
    kind, _, arg = action.partition(":")
    if kind == "reload":
        library.open_project(st, st["current_project"])
    elif kind == "close":
        library.open_project(st, None)
    elif kind == "open":
        library.open_project(st, library.project_named(library.cwd(st), arg)["id"])
    elif kind == "database":
        st["current_db"] = next(i for i, db in enumerate(st["databases"]) if db["DbName"] == arg)
        st["current_folder"] = []
        library.open_project(st, None)
    else:
        raise ValueError("unknown UI action %r" % action)
