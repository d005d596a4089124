"""Running a whole job under a reporter: the job's output passes through untouched,
the end of its stderr is kept for the failure report, and a stop signal reaches
every process of the job.

The job runs in a session of its own, so that SIGTERM or SIGINT sent to the
reporter (launchd stopping the job, Ctrl-C) is passed to each stage of a
pipeline, not only to the shell that started them; the reporter itself stays
alive to say that the job failed.
"""

import collections
import contextlib
import os
import signal
import subprocess
import sys

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
CHUNK = 65536


class Stopped(Exception):
    """A stop signal came while no job was running."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def stop_raises():
    """Within: SIGTERM, SIGINT and SIGHUP raise Stopped, so the caller can still report."""
    def stop(signum, _frame):
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in FORWARDED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def exit_status(returncode):
    """A shell's view of a child's end: its exit status, or 128 + the signal that killed it."""
    return 128 - returncode if returncode < 0 else returncode


def run(argv, tail_lines):
    """Run argv (no shell of its own); return (exit status, the last lines of its stderr)."""
    tail = collections.deque(maxlen=max(1, tail_lines))
    job, pending = [], []

    def forward(signum, _frame):
        """To the whole job; a signal that comes before the job exists is passed on once it does."""
        if not job:
            pending.append(signum)
            return
        try:
            os.killpg(job[0].pid, signum)
        except OSError:
            pass

    # Installed before the job starts: its own session does not hear our SIGTERM.
    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        message = f"{argv[0]}: cannot run: {exc.strerror or exc}"
        return (127 if isinstance(exc, FileNotFoundError) else 126), message
    job.append(proc)
    for signum in pending:
        forward(signum, None)
    out = getattr(sys.stderr, "buffer", None)
    partial = b""
    try:
        while True:
            chunk = proc.stderr.readline(CHUNK)
            if not chunk:
                break
            if out is not None:
                try:
                    out.write(chunk)
                    out.flush()
                except OSError:
                    out = None      # our stderr went away; keep the tail all the same
            partial += chunk
            if partial.endswith(b"\n") or len(partial) >= CHUNK:
                tail.append(partial)
                partial = b""
        if partial:
            tail.append(partial)
        returncode = proc.wait()
    finally:
        proc.stderr.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    text = b"".join(tail).decode("utf-8", "replace") if tail_lines > 0 else ""
    return exit_status(returncode), text.rstrip("\n")
