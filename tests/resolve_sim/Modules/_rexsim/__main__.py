"""Command line over _rexsim.state, for shell-driven tests: python -m _rexsim CMD ARGS.

Folders are given as repeated --folder NAME (root when absent).
"""
import argparse
import json
import sys

from . import state


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m _rexsim")
    sub = ap.add_subparsers(dest="cmd", required=True)
    cmds = {
        "reset": [], "empty": [], "show": [],
        "running": [("running", dict(choices=["on", "off"]))],
        "scripting": [("mode", dict(choices=["Local", "Network", "None"]))],
        "version": [("version", dict(help="MAJOR.MINOR.PATCH[.BUILD]"))],
        "export-fails": [("mode", dict(nargs="?"))],
        "export-delay": [("seconds", dict(type=float))],
        "add-db": [("name", {}), ("type", dict(nargs="?", default="PostgreSQL")),
                   ("ip", dict(nargs="?", default="127.0.0.1"))],
        "add-folder": [("db", {})],
        "add-project": [("db", {}), ("name", {}), ("--empty", dict(action="store_true"))],
        "set-setting": [("db", {}), ("name", {}), ("key", {}), ("value", {})],
        "rename-timeline": [("db", {}), ("name", {}), ("index", dict(type=int)), ("new_name", {})],
        "add-clip": [("db", {}), ("name", {}), ("clip", {}), ("--path", {})],
    }
    for cmd, args in cmds.items():
        p = sub.add_parser(cmd)
        p.add_argument("--folder", action="append", default=[])
        for name, kw in args:
            p.add_argument(name, **kw)
    a = ap.parse_args(argv)
    f = a.folder
    out = {
        "reset": lambda: state.reset(), "empty": state.empty,
        "show": lambda: json.dump(state.snapshot(), sys.stdout, indent=1, ensure_ascii=False),
        "running": lambda: state.set_running(a.running == "on"),
        "scripting": lambda: state.set_scripting(a.mode),
        "version": lambda: state.set_version(*a.version.split(".")),
        "export-fails": lambda: state.set_export_fails(a.mode),
        "export-delay": lambda: state.set_export_delay(a.seconds),
        "add-db": lambda: state.add_database(a.name, a.type, a.ip),
        "add-folder": lambda: state.add_folder(a.db, f),
        "add-project": lambda: state.add_project(a.db, f, a.name, sample=not a.empty),
        "set-setting": lambda: state.set_setting(a.db, f, a.name, a.key, a.value),
        "rename-timeline": lambda: state.rename_timeline(a.db, f, a.name, a.index, a.new_name),
        "add-clip": lambda: state.add_clip(a.db, f, a.name, a.clip, a.path),
    }[a.cmd]()
    if isinstance(out, str):
        print(out)


if __name__ == "__main__":
    main()
