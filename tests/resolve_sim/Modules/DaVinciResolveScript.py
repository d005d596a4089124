"""Stand-in for Blackmagic's DaVinciResolveScript.py, with the real file's shape.

Like the real one it is only a loader: it imports `fusionscript`, else loads the
native library named by $RESOLVE_SCRIPT_LIB, else the one at the default path for
this system, and puts that module in its own place in sys.modules. It defines no
scriptapp: code that loads this file by path and keeps the module it executed holds
an empty shell, exactly as with the real product. The simulator's "native library"
is tests/resolve_sim/lib/fusionscript.py (the tests set RESOLVE_SCRIPT_LIB to it).
"""
import os
import sys


def load_dynamic(module, path):
    import importlib.util

    if not os.path.isfile(path):  # as dlopen fails on a missing library
        raise ImportError("%s: cannot open shared object file: No such file or directory" % path)
    spec = importlib.util.spec_from_file_location(module, path)
    if spec is None:
        raise ImportError("%s: not a library" % path)
    script_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script_module)
    return script_module


script_module = None
try:
    import fusionscript as script_module
except ImportError:
    lib_path = os.getenv("RESOLVE_SCRIPT_LIB")
    if lib_path:
        try:
            script_module = load_dynamic("fusionscript", lib_path)
        except ImportError:
            pass
    if not script_module:
        ext = ".so"
        if sys.platform.startswith("darwin"):
            path = "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/"
        elif sys.platform.startswith("win") or sys.platform.startswith("cygwin"):
            ext = ".dll"
            path = "C:\\Program Files\\Blackmagic Design\\DaVinci Resolve\\"
        else:
            path = "/opt/resolve/libs/Fusion/"
        try:
            script_module = load_dynamic("fusionscript", path + "fusionscript" + ext)
        except ImportError:
            pass

if script_module:
    sys.modules[__name__] = script_module
else:
    raise ImportError("Could not locate module dependencies")
