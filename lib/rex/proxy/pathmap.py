"""farm.path_map: the same media under different mount points on queuer and worker.

Each entry maps a queuer-side prefix to this worker's prefix ("/Volumes/Media:
/mnt/media"). The longest matching prefix wins, matched component by component
("/Volumes/Media2" is not under "/Volumes/Media"). A map whose reverse would be
ambiguous is refused, so every mapped path comes back to where it came from.
"""

import posixpath


def _clean(path):
    text = str(path)
    if not text.startswith("/"):
        raise ValueError(f"{text!r}: expected an absolute path")
    return posixpath.normpath(text).replace("//", "/")


def _under(path, prefix):
    """The rest of `path` below `prefix` ('' for the prefix itself), or None."""
    if prefix == "/":
        return path[1:]
    if path == prefix:
        return ""
    if path.startswith(prefix + "/"):
        return path[len(prefix) + 1:]
    return None


def _join(prefix, rest):
    return posixpath.join(prefix, rest) if rest else prefix


class PathMap:
    """Translate paths between the queuer's view and this worker's."""

    def __init__(self, pairs=()):
        self.pairs = sorted(set((_clean(a), _clean(b)) for a, b in pairs))
        for side in (0, 1):
            seen = {}
            for pair in self.pairs:
                other = seen.setdefault(pair[side], pair)
                if other != pair:
                    raise ValueError(f"{pair[side]} is mapped twice ({other[0]}: {other[1]}; {pair[0]}: {pair[1]})")
        for a in self.pairs:
            for b in self.pairs:
                if a == b:
                    continue
                # A worker prefix nested in another must be the image of the same nesting on the
                # queuer side, or a path would come back to another place.
                rest = _under(b[1], a[1])
                if rest is not None and _join(a[0], rest) != b[0]:
                    raise ValueError(f"{b[1]} lies under {a[1]} but {b[0]} is not {_join(a[0], rest)}: "
                                     f"the way back is ambiguous")

    @classmethod
    def from_config(cls, mapping):
        """From farm.path_map as the configuration gives it ({queuer: worker}); ValueError when
        the way back would be ambiguous."""
        return cls((_clean(a), _clean(b)) for a, b in (mapping or {}).items())

    def to_worker(self, path):
        return self._translate(path, 0, 1)

    def to_queuer(self, path):
        return self._translate(path, 1, 0)

    def _translate(self, path, src, dst):
        best = None
        for pair in self.pairs:
            rest = _under(path, pair[src])
            if rest is not None and (best is None or len(pair[src]) > len(best[0][src])):
                best = (pair, rest)
        if best is None:
            return path
        pair, rest = best
        return _join(pair[dst], rest)

    def __bool__(self):
        return bool(self.pairs)
