"""One way to run external programs: argv as data, no shell, a timeout, and the
tail of stderr quoted when it fails.

Command lines are built by pure functions elsewhere (`pg_dump_argv`, ...) and
handed here, so they can be tested without running anything. Secrets travel in
the environment (PGPASSWORD, RCLONE_CONFIG_*) or in files, never in argv.
"""

import os
import shutil
import subprocess
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
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
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
