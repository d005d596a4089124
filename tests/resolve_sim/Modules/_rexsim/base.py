"""Attribute and call behaviour of Resolve's scripting objects.

- Every attribute answers (hasattr() is always True) and an unknown call returns
  None, while dir() lists only the real methods; calls added in later versions
  appear there only from that version on.
- Arguments are positional: a call with keyword arguments or the wrong number of
  arguments does not raise, it fails like any other call: None from object, string
  and list methods, False from Bool methods (BOOL_CALLS).
- Deprecated dict-returning calls (DEPRECATED) answer dicts keyed by floats {1.0: ...}.
- Each misuse (keyword or wrong-count call, unknown or deprecated call) is noted in the
  state ("misuse"), so tests can tell that a caller relied on one.
- A test can arrange that the user acts in the UI just before the Nth call of a
  method (store "hooks", see state.on_call), such as reloading the open project.
"""
import functools
import inspect

from . import store

BOOL_CALLS = frozenset((
    "GotoRootFolder", "GotoParentFolder", "OpenFolder", "CreateFolder", "DeleteFolder",
    "ExportProject", "ImportProject", "SetCurrentDatabase", "CloseProject", "DeleteProject",
    "SetSetting", "SetCurrentTimeline", "LinkProxyMedia", "UnlinkProxyMedia"))
DEPRECATED = frozenset(("GetProjectsInCurrentFolder", "GetFoldersInCurrentFolder", "GetClips",
                        "GetSubFolders", "GetItemsInTrack"))


_inside = []  # the API call being answered (the simulator is single-threaded)


def note_misuse(what):
    with store.transaction(write=True) as st:
        st.setdefault("misuse", []).append(what)


def _run_hooks(call):
    """Act out what a test arranged to happen in the UI just before this call."""
    if not store.has_hooks():
        return
    from . import ui

    with store.transaction(write=True) as st:
        for action in store.due_hooks(call):
            ui.act(st, action)


def _strict(obj, name, method):
    """METHOD as Resolve offers it: positional arguments only, no exceptions for misuse."""
    failed = False if name in BOOL_CALLS else None
    signature = inspect.signature(method)
    call = "%s.%s" % (type(obj).__name__, name)

    @functools.wraps(method)
    def resolve_call(*args, **kwargs):
        if _inside:  # the simulator calling itself
            return method(*args, **kwargs)
        _run_hooks(call)
        if kwargs:
            note_misuse("%s: keyword arguments %s" % (call, sorted(kwargs)))
            return failed
        try:
            signature.bind(*args)
        except TypeError:
            note_misuse("%s: %d arguments" % (call, len(args)))
            return failed
        if name in DEPRECATED:
            note_misuse("%s: deprecated" % call)
        _inside.append(call)
        try:
            return method(*args)
        finally:
            _inside.pop()
    return resolve_call


def _unknown(obj, name):
    def nothing(*args, **kwargs):
        note_misuse("%s.%s: no such call in this version" % (type(obj).__name__, name))
        return None
    return nothing


class SimObject:
    OPTIONAL = {}  # public name -> minimum (major, minor, patch); implemented as _opt_<name>

    def _available(self, name):
        need = self.OPTIONAL.get(name)
        if need is None:
            return False
        with store.transaction() as st:
            return store.version(st) >= need

    def __getattribute__(self, name):
        value = object.__getattribute__(self, name)
        if name[:1].isupper() and name != "OPTIONAL" and callable(value):
            return _strict(self, name, value)
        return value

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._available(name):
            return _strict(self, name, getattr(self, "_opt_" + name))
        return _unknown(self, name)

    def __dir__(self):
        names = [n for n in dir(type(self)) if n[:1].isupper() and n != "OPTIONAL"]
        return sorted(names + [n for n in self.OPTIONAL if self._available(n)])

    def __repr__(self):
        return "%s (simulated) at %#x" % (type(self).__name__, id(self))


def float_keyed(items):
    """What the deprecated calls answer: {1.0: first, 2.0: second, ...}."""
    return {float(i): item for i, item in enumerate(items or (), 1)}
