"""Finding DaVinciResolveScript exactly as Resolve's own scripts do, and connecting.

Order: already importable; else `$RESOLVE_SCRIPT_API/Modules`; else the default
location for this OS. The module itself loads the native library named by
RESOLVE_SCRIPT_LIB (or its default), so that variable is left to it.
"""

import importlib
import importlib.util
import os
import sys

from ..errors import TempFail, Unavailable

DEFAULT_API = {
    "darwin": "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting",
    "linux": "/opt/resolve/Developer/Scripting",
    "win32": os.path.join(os.environ.get("PROGRAMDATA", r"C:\ProgramData"),
                          "Blackmagic Design", "DaVinci Resolve", "Support", "Developer", "Scripting"),
}
ALTERNATE_API = ("/home/resolve/Developer/Scripting",)

NOT_REACHABLE = ("DaVinci Resolve did not answer: is it running (it may run with -nogui), is "
                 "Preferences > System > General > External scripting using set to Local, and is it "
                 "DaVinci Resolve Studio (external scripting needs Studio)?")


def module_dirs():
    """Where DaVinciResolveScript may live, in the order Resolve's scripts look."""
    dirs = []
    api = os.environ.get("RESOLVE_SCRIPT_API")
    if api:
        dirs.append(os.path.join(api, "Modules"))
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    default = DEFAULT_API.get(platform)
    if default:
        dirs.append(os.path.join(default, "Modules"))
    if platform == "linux":
        dirs.extend(os.path.join(d, "Modules") for d in ALTERNATE_API)
    return dirs


def load_module():
    """Import DaVinciResolveScript; Unavailable (69) when it is nowhere."""
    if not os.environ.get("RESOLVE_SCRIPT_API"):
        try:
            return importlib.import_module("DaVinciResolveScript")
        except ImportError:
            pass
    for directory in module_dirs():
        path = os.path.join(directory, "DaVinciResolveScript.py")
        if os.path.isfile(path):
            if directory not in sys.path:
                sys.path.insert(0, directory)
            spec = importlib.util.spec_from_file_location("DaVinciResolveScript", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["DaVinciResolveScript"] = module
            try:
                spec.loader.exec_module(module)
            except ImportError as exc:
                raise Unavailable(f"DaVinciResolveScript cannot load its library: {exc}") from None
            return module
    raise Unavailable("DaVinciResolveScript not found: install DaVinci Resolve or set RESOLVE_SCRIPT_API "
                      f"(looked in {', '.join(module_dirs()) or 'nothing'})")


def connect():
    """The Resolve object; TempFail (75) with the likely causes when Resolve does not answer."""
    module = load_module()
    try:
        resolve = module.scriptapp("Resolve")
    except Exception as exc:   # the native library raises odd things when Resolve is gone
        raise TempFail(f"{NOT_REACHABLE} ({exc})") from None
    if resolve is None:
        raise TempFail(NOT_REACHABLE)
    return resolve
