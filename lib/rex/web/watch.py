"""Which directories changed, from Linux's inotify through ctypes (no dependency): so the
inventory reads a changed directory at the next request instead of at its next look.

Only what says a directory's backups changed is asked for: names created, deleted or
moved, files closed after writing or with new attributes (a backup damaged in place), the
directory itself gone. Where inotify is missing (macOS, a container without it, the
watch limit reached) `Watcher()` raises Unavailable and the inventory looks by itself at
its rescan interval; when the kernel dropped events, `changed()` says so (None).
"""

import ctypes
import errno
import os
import struct
import sys

IN_ATTRIB, IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO = 0x4, 0x8, 0x40, 0x80
IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
IN_Q_OVERFLOW, IN_IGNORED, IN_ONLYDIR = 0x4000, 0x8000, 0x01000000
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, getattr(os, "O_CLOEXEC", 0o2000000)
# Links are followed: the backup root may be one (the walk below it never follows a link to a directory).
MASK = (IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF
        | IN_MOVE_SELF | IN_ONLYDIR)
_EVENT = struct.Struct("iIII")      # wd, mask, cookie, len (then the name, len bytes)


class Unavailable(OSError):
    """No inotify here, or no more watches."""


class Watcher:
    """inotify watches on directories; `changed()` drains what happened since the last call."""

    def __init__(self):
        if not sys.platform.startswith("linux"):
            raise Unavailable("inotify is Linux's")
        try:
            self._libc = ctypes.CDLL(None, use_errno=True)
            init = self._libc.inotify_init1
        except (OSError, AttributeError) as exc:
            raise Unavailable(f"no inotify: {exc}") from None
        self.fd = init(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise Unavailable(ctypes.get_errno(), "inotify_init1: " + os.strerror(ctypes.get_errno()))
        self._dirs = {}         # wd -> directory
        self._wds = {}          # directory -> wd

    def add(self, directory):
        """Watch `directory`; Unavailable when the kernel refuses (the watch limit)."""
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(directory), MASK)
        if wd < 0:
            code = ctypes.get_errno()
            if code in (errno.ENOENT, errno.ENOTDIR):
                return              # gone already: its parent's event says so
            raise Unavailable(code, f"inotify_add_watch {directory}: {os.strerror(code)}")
        self._dirs[wd] = directory
        self._wds[directory] = wd

    def remove(self, directory):
        wd = self._wds.pop(directory, None)
        if wd is not None:
            self._dirs.pop(wd, None)
            self._libc.inotify_rm_watch(self.fd, wd)

    def changed(self):
        """The watched directories with news since the last call, or None when the kernel
        dropped events (the queue overflowed): then only a full look can tell."""
        found, lost = set(), False
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            pos = 0
            while pos + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, pos)
                pos += _EVENT.size + length
                if mask & IN_Q_OVERFLOW:
                    lost = True
                    continue
                directory = self._dirs.get(wd)
                if directory is None:
                    continue
                found.add(directory)
                if mask & IN_IGNORED:       # the watch is gone (its directory removed): wd may be reused
                    self._dirs.pop(wd, None)
                    self._wds.pop(directory, None)
        return None if lost else found

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
