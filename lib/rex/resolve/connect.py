"""Finding DaVinciResolveScript exactly as Resolve's own scripts do, and connecting.

Order: `$RESOLVE_SCRIPT_API/Modules`; else an importable module (PYTHONPATH);
else the default location for this OS. Blackmagic's DaVinciResolveScript.py is
only a loader: it loads the native library ($RESOLVE_SCRIPT_LIB, else the OS
default) and replaces itself in sys.modules with it, so the module to use is the
one in sys.modules afterwards, never the shell that was executed.
"""

import importlib
import importlib.util
import os
import sys

from ..errors import TempFail, Unavailable

NAME = "DaVinciResolveScript"
DEFAULT_API = {
    "darwin": "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting",
    "linux": "/opt/resolve/Developer/Scripting",
    "win32": os.path.join(os.environ.get("PROGRAMDATA", r"C:\ProgramData"),
                          "Blackmagic Design", "DaVinci Resolve", "Support", "Developer", "Scripting"),
}
ALTERNATE_API = ("/home/resolve/Developer/Scripting",)
DEFAULT_LIB = {
    "darwin": "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so",
    "linux": "/opt/resolve/libs/Fusion/fusionscript.so",
    "win32": r"C:\Program Files\Blackmagic Design\DaVinci Resolve\fusionscript.dll",
}

NOT_REACHABLE = ("DaVinci Resolve did not answer: is it running (it may run with -nogui), is "
                 "Preferences > System > General > External scripting using set to Local, and is it "
                 "DaVinci Resolve Studio (external scripting needs Studio)?")


def _platform():
    return "linux" if sys.platform.startswith("linux") else sys.platform


def module_dirs():
    """Where DaVinciResolveScript may live, in the order Resolve's scripts look."""
    dirs = []
    api = os.environ.get("RESOLVE_SCRIPT_API")
    if api:
        dirs.append(os.path.join(api, "Modules"))
    default = DEFAULT_API.get(_platform())
    if default:
        dirs.append(os.path.join(default, "Modules"))
    if _platform() == "linux":
        dirs.extend(os.path.join(d, "Modules") for d in ALTERNATE_API)
    return dirs


def library_tried():
    """The native library the loader tries, as text for an error message."""
    default = DEFAULT_LIB.get(_platform(), "the default location")
    given = os.environ.get("RESOLVE_SCRIPT_LIB")
    return f"RESOLVE_SCRIPT_LIB={given} (then {default})" if given else f"{default} (RESOLVE_SCRIPT_LIB is unset)"


def _library_missing(where, exc):
    return Unavailable(f"{where} cannot load Resolve's scripting library {library_tried()}: {exc}; "
                       "set RESOLVE_SCRIPT_LIB to fusionscript of the DaVinci Resolve installation")


def _exec_file(path):
    """Run the file at PATH as `import` would, and return what it left in sys.modules."""
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(NAME, path)
    shell = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = shell
    try:
        spec.loader.exec_module(shell)
    except BaseException:
        sys.modules.pop(NAME, None)
        raise
    return sys.modules[NAME]    # the native module the loader put in its own place


def load_module():
    """The module that offers scriptapp; Unavailable (69) when it is nowhere or cannot load."""
    if not os.environ.get("RESOLVE_SCRIPT_API"):
        try:
            return importlib.import_module(NAME)   # import hands back sys.modules[NAME]
        except ModuleNotFoundError as exc:
            if exc.name != NAME:
                raise _library_missing(NAME, exc) from None
        except ImportError as exc:
            raise _library_missing(NAME, exc) from None
    for directory in module_dirs():
        path = os.path.join(directory, NAME + ".py")
        if os.path.isfile(path):
            try:
                return _exec_file(path)
            except ImportError as exc:
                raise _library_missing(path, exc) from None
    raise Unavailable(f"{NAME} not found: install DaVinci Resolve or set RESOLVE_SCRIPT_API "
                      f"(looked in {', '.join(module_dirs()) or 'nothing'})")


def connect():
    """The Resolve object; TempFail (75) with the likely causes when Resolve does not answer."""
    module = load_module()
    scriptapp = getattr(module, "scriptapp", None)
    if not callable(scriptapp):
        raise Unavailable(f"{getattr(module, '__file__', NAME)} offers no scriptapp: not DaVinci Resolve's "
                          f"scripting module (library {library_tried()})")
    try:
        resolve = scriptapp("Resolve")
    except Exception as exc:   # the native library raises odd things when Resolve is gone
        raise TempFail(f"{NOT_REACHABLE} ({exc})") from None
    if resolve is None:
        raise TempFail(NOT_REACHABLE)
    return resolve
