"""One run of a job under rexd: `bash -o pipefail -c RUN` in a session (so a process
group) of its own, its stderr passed on to rexd's and its last lines kept for the
failure report, its end noticed without blocking the scheduling loop.

When the shell ends, whatever it left running in its group is terminated, as systemd
does with a oneshot unit's leftovers; on shutdown the whole group is signalled.
"""

import collections
import os
import signal
import subprocess
import sys
import time

from ..monitor.supervise import exit_status

CHUNK = 65536
BASH = "/bin/bash"


def argv(run):
    return [BASH, "-o", "pipefail", "-c", run]


class Run:
    def __init__(self, name, run, tail_lines, run_id):
        self.name, self.run_id = name, run_id
        self.tail = collections.deque(maxlen=max(1, tail_lines))
        self._want_tail = tail_lines > 0
        self._partial = b""
        self.status = None              # exit status (128 + N for a signal) once reaped
        self.started = time.monotonic()
        self.stopped_by = None          # the signal rexd sent, if it ended the run
        self.lock = None                # held while it runs (rex.daemon.loop.held)
        self.proc = subprocess.Popen(argv(run), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        os.set_blocking(self.proc.stderr.fileno(), False)

    @property
    def pid(self):
        return self.proc.pid

    def fileno(self):
        """Its stderr, while open (for select)."""
        return self.proc.stderr.fileno() if not self.proc.stderr.closed else None

    def read(self):
        """Pass on what its stderr has ready; False at the end of it."""
        try:
            chunk = os.read(self.proc.stderr.fileno(), CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            chunk = b""
        if not chunk:
            self._close()
            return False
        out = getattr(sys.stderr, "buffer", None)
        if out is not None:
            try:
                out.write(chunk)
                out.flush()
            except (OSError, ValueError):
                pass
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        self.tail.extend(line + b"\n" for line in lines)
        if len(self._partial) >= CHUNK:
            self.tail.append(self._partial)
            self._partial = b""
        return True

    def _close(self):
        if not self.proc.stderr.closed:
            self.proc.stderr.close()

    def tail_text(self):
        if not self._want_tail:
            return ""
        lines = list(self.tail) + ([self._partial] if self._partial else [])
        return b"".join(lines).decode("utf-8", "replace").rstrip("\n")

    def finish_if_ended(self):
        """Whether the shell has ended; if so, its group's leftovers are terminated, what is
        left of its stderr read, and it is reaped (status set)."""
        if self.status is not None:
            return True
        try:
            ended = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:       # reaped already (by the PID-1 sweep, which set status)
            return self.status is not None
        if ended is None:
            return False
        self.signal(signal.SIGTERM)     # leftovers; the group still exists while the shell is unreaped
        self.settle(os.waitpid(self.pid, 0)[1])
        return True

    def settle(self, wait_status):
        """The shell was reaped with `wait_status`: read the rest of its output, set status."""
        while self.fileno() is not None and self.read():
            if not _ready(self.fileno()):
                break
        self._close()
        self.status = exit_status(os.waitstatus_to_exitcode(wait_status))
        self.proc.returncode = self.status      # Popen must never wait for it again

    def signal(self, signum):
        """`signum` to every process of the run's group (none left: nothing)."""
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def seconds(self):
        return time.monotonic() - self.started


def _ready(fd):
    import select

    return bool(select.select([fd], [], [], 0)[0])
