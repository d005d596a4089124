"""Drop-in stand-in for Blackmagic's DaVinciResolveScript module, for tests.

Found exactly like the real one ($RESOLVE_SCRIPT_API/Modules); instead of loading
fusionscript it talks to a simulated Resolve whose state is a JSON file
($REX_SIM_STATE), so separate processes see the same Resolve.
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:  # loaded by path with importlib: make _rexsim importable
    sys.path.insert(0, _here)

from _rexsim import store  # noqa: E402
from _rexsim.app import Resolve  # noqa: E402


def scriptapp(app="Resolve", *args, **kwargs):
    """Like the real call: None unless Resolve runs with external scripting on."""
    if app != "Resolve":
        return None  # no simulated Fusion
    with store.transaction() as st:
        if not st.get("running", True) or st.get("scripting", "Local") == "None":
            return None
        # Resolve 21.1 made all external scripting a Studio feature.
        if st.get("product") != "DaVinci Resolve Studio" and store.version(st) >= (21, 1, 0):
            return None
    return Resolve()
