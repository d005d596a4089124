"""Shared state of the simulated Resolve: one JSON file, locked and replaced atomically.

Every API call reads the file afresh (Resolve is a live server that other processes
change too) and mutating calls write it back through a temp file and rename.
"""
import contextlib
import fcntl
import json
import os
import tempfile

from . import library


def path():
    return os.environ.get("REX_SIM_STATE") or os.path.join(
        tempfile.gettempdir(), "rex-sim-%d.json" % os.getuid())


def _save(p, st):
    fd, tmp = tempfile.mkstemp(prefix=".rexsim-", dir=os.path.dirname(p))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(st, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def transaction(write=False):
    """Yield the state under an exclusive flock; save it afterwards when write."""
    p = os.path.abspath(path())
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(p, encoding="utf-8") as f:
                st = json.load(f)
        except FileNotFoundError:
            st, write = library.default_state(), True
        yield st
        if write:
            _save(p, st)


def version(st):
    return tuple(int(v) for v in st["version"][:3])


def _hooks_path():
    return os.path.abspath(path()) + ".hooks"


def has_hooks():
    return os.path.exists(_hooks_path())


def add_hook(call, nth, action):
    """Before the NTH call of CALL ("Class.Method"), ACTION happens in the UI (ui.act)."""
    with transaction():  # under the state's lock
        hooks = _read_hooks()
        hooks.append({"call": call, "nth": int(nth), "seen": 0, "action": action})
        _write_hooks(hooks)


def due_hooks(call):
    """Count a call of CALL; the actions due now. Call inside a transaction."""
    hooks = _read_hooks()
    due = []
    for hook in hooks:
        if hook["call"] == call:
            hook["seen"] += 1
            if hook["seen"] == hook["nth"]:
                due.append(hook["action"])
    if any(h["call"] == call for h in hooks):
        _write_hooks(hooks)
    return due


def _read_hooks():
    try:
        with open(_hooks_path(), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return []


def _write_hooks(hooks):
    with open(_hooks_path(), "w", encoding="utf-8") as f:
        json.dump(hooks, f)


def clear_hooks():
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_hooks_path())
