"""The simulator's "native library" (Blackmagic's is fusionscript.so): where scriptapp lives.

Modules/DaVinciResolveScript.py loads it through $RESOLVE_SCRIPT_LIB and swaps it in
for itself. It talks to a simulated Resolve whose state is a JSON file
($REX_SIM_STATE), so separate processes see the same Resolve.
"""
import os
import sys

_modules = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Modules")
if _modules not in sys.path:  # where the simulator's implementation (_rexsim) lives
    sys.path.insert(0, _modules)

from _rexsim.app import scriptapp  # noqa: E402,F401
