"""One way to run external programs: argv as data, no shell, a timeout, and the
tail of stderr quoted when it fails.

Command lines are built by pure functions elsewhere (`pg_dump_argv`, ...) and
handed here, so they can be tested without running anything. Secrets travel in
the environment (PGPASSWORD, RCLONE_CONFIG_*) or in files, never in argv.

Every child is started by `popen`, which ties its life to ours: a `kill -9` of a
command must not leave pg_dump, pg_restore, psql or ffmpeg running. On Linux the
child asks for SIGKILL when its parent dies (PR_SET_PDEATHSIG; the "parent" is
the thread that started it, and every caller waits in that thread). Elsewhere
(macOS) the child gets a process group of its own, and a small watchdog process
holds the read end of a pipe from us: at its EOF, which only our death brings
while children are registered, it kills the groups still listed.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass

from .errors import RexError, TempFail, Unavailable

TAIL_LINES = 3


@dataclass
class Result:
    argv: list
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def ok(self):
        return self.returncode == 0

    def tail(self, lines=TAIL_LINES):
        return stderr_tail(self.stderr, lines)


def operand(path):
    """PATH as a program's operand: `./`-prefixed when it starts with `-`, so that no
    program (pg_restore, psql, ...) takes a file named `-x_...` for an option."""
    path = os.fspath(path)
    return "./" + path if path.startswith("-") else path


def stderr_tail(text, lines=TAIL_LINES):
    kept = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return " / ".join(kept[-lines:])


DISK_FULL = ("No space left on device", "Disk quota exceeded")


def disk_full(text):
    """True when a program's stderr says it ran out of space (its exit is then 74, not 1)."""
    return any(marker in (text or "") for marker in DISK_FULL)


class CommandFailed(RexError):
    """A program exited non-zero; the message quotes the end of its stderr."""

    def __init__(self, result, what=None):
        self.result = result
        name = os.path.basename(result.argv[0])
        what = what or name
        tail = result.tail()
        super().__init__(f"{what} failed (exit {result.returncode})" + (f": {tail}" if tail else ""))


def find_program(name, configured=None):
    """Absolute path of a program, or Unavailable (69) naming what is missing."""
    if configured:
        if os.path.isabs(configured) and os.access(configured, os.X_OK):
            return configured
        found = shutil.which(configured)
        if found:
            return found
        raise Unavailable(f"{configured}: program not found or not executable")
    found = shutil.which(name)
    if not found:
        raise Unavailable(f"{name}: program not found (install it or set its path in the configuration)")
    return found


_LIBC = []


def _prctl():
    """libc's prctl on Linux (looked up before any fork), else None."""
    if not _LIBC:
        found = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                found = ctypes.CDLL(None, use_errno=True).prctl
            except (OSError, AttributeError):
                found = None
        _LIBC.append(found)
    return _LIBC[0]


def _child_setup(prctl, parent, nice):
    """Runs in the child between fork and exec: lower priority, die with the parent."""
    def setup():
        if nice:
            with contextlib.suppress(OSError):
                os.nice(nice)
        prctl(1, signal.SIGKILL, 0, 0, 0)     # PR_SET_PDEATHSIG
        if os.getppid() != parent:            # the parent died before the line above
            os.kill(os.getpid(), signal.SIGKILL)
    return setup


WATCHDOG = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
groups = set()
for line in sys.stdin.buffer:
    (groups.add if line[:1] == b"+" else groups.discard)(int(line[1:]))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


class _Watchdog:
    """The process that kills our children's groups once we are gone (where there is no
    parent-death signal); started on the first child, one per process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pipe = None
        self._pid = None

    def start(self):
        """Make sure the watchdog runs (before a child exists, so none is ever unwatched for long)."""
        self._send(None)

    def _send(self, line):
        with self._lock:
            if self._pipe is None or self._pid != os.getpid():
                read, write = os.pipe()
                try:
                    subprocess.Popen([sys.executable, "-I", "-S", "-c", WATCHDOG], stdin=read,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, close_fds=True)
                finally:
                    os.close(read)
                self._pipe, self._pid = os.fdopen(write, "wb", buffering=0), os.getpid()
            if line:
                with contextlib.suppress(OSError):
                    self._pipe.write(line)

    def watch(self, pid):
        self._send(b"+%d\n" % pid)

    def forget(self, pid):
        self._send(b"-%d\n" % pid)


_WATCHDOG = _Watchdog()


class _Guarded(subprocess.Popen):
    """A child in its own process group, listed with the watchdog until it is reaped."""

    def _reaped(self):
        if self.returncode is not None and not getattr(self, "_forgotten", False):
            self._forgotten = True
            _WATCHDOG.forget(self.pid)

    def poll(self):
        code = super().poll()
        self._reaped()
        return code

    def wait(self, timeout=None):
        code = super().wait(timeout)
        self._reaped()
        return code


def popen(argv, nice=0, **kwargs):
    """subprocess.Popen (no shell) for a child that dies with us; `nice` lowers its priority."""
    prctl = _prctl()
    if prctl is not None:
        return subprocess.Popen(argv, preexec_fn=_child_setup(prctl, os.getpid(), nice), **kwargs)
    if nice:
        kwargs["preexec_fn"] = lambda: os.nice(nice)
    _WATCHDOG.start()
    # process_group=0 from Python 3.11; before it, a session of its own is a group of its own.
    group = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}
    proc = _Guarded(argv, **group, **kwargs)
    _WATCHDOG.watch(proc.pid)
    return proc


def run(argv, env=None, timeout=None, input=None, stdout=subprocess.PIPE, check=False, cwd=None):
    """Run argv (no shell); return a Result, or raise CommandFailed when `check`.

    A timeout kills the program and raises TempFail (75), quoting its stderr.
    """
    full_env = None
    if env:
        full_env = dict(os.environ)
        full_env.update({k: v for k, v in env.items() if v is not None})
        for key in [k for k, v in env.items() if v is None]:
            full_env.pop(key, None)
    try:
        proc = popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                     stdout=stdout, stderr=subprocess.PIPE, env=full_env, cwd=cwd)
    except FileNotFoundError:
        raise Unavailable(f"{argv[0]}: program not found") from None
    except PermissionError:
        raise Unavailable(f"{argv[0]}: not executable") from None
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        tail = stderr_tail(err.decode("utf-8", "replace"))
        raise TempFail(f"{os.path.basename(argv[0])} timed out after {timeout:g} s"
                       + (f": {tail}" if tail else "")) from None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    result = Result(list(argv), proc.returncode, out if out is not None else b"",
                    err.decode("utf-8", "replace"))
    if check and not result.ok:
        raise CommandFailed(result)
    return result
