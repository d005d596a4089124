"""Where the tail of a failed job's log comes from: a file, standard input, or the
journal (the failed run's own lines, found by its invocation id)."""

import os
import sys

from .event import last_lines
from .systemd import journal_argv

READ_BACK = 256 * 1024      # bytes read from the end of a file; ample for any tail


def from_file(path, lines):
    """The last `lines` lines of a file, or of standard input for `-`; OSError if unreadable."""
    if path == "-":
        data = sys.stdin.buffer.read()[-READ_BACK:]
    else:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - READ_BACK))
            data = f.read()
    return last_lines(data.decode("utf-8", "replace"), lines)


def from_journal(failure, lines, user):
    """The failed run's last lines from journalctl; (text, None) or ("", why not)."""
    from ..errors import RexError
    from ..runner import run

    try:
        result = run(journal_argv(failure.unit, failure.invocation_id, lines, user), timeout=15)
    except RexError as exc:
        return "", exc.message
    if not result.ok:
        return "", f"journalctl failed (exit {result.returncode}): {result.tail()}"
    return last_lines(result.stdout.decode("utf-8", "replace"), lines), None
