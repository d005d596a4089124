"""Attribute behaviour of Resolve's scripting objects.

Real objects answer every attribute (hasattr() is always True and unknown calls
return None), while dir() lists only the real methods; calls added in later
versions appear there only from that version on.
"""
from . import store


def _nothing(*args, **kwargs):
    return None


class SimObject:
    OPTIONAL = {}  # public name -> minimum (major, minor, patch); implemented as _opt_<name>

    def _available(self, name):
        need = self.OPTIONAL.get(name)
        if need is None:
            return False
        with store.transaction() as st:
            return store.version(st) >= need

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._available(name):
            return getattr(self, "_opt_" + name)
        return _nothing

    def __dir__(self):
        names = [n for n in dir(type(self)) if n[:1].isupper() and n != "OPTIONAL"]
        return sorted(names + [n for n in self.OPTIONAL if self._available(n)])

    def __repr__(self):
        return "%s (simulated) at %#x" % (type(self).__name__, id(self))
