"""Messages for people, on stderr only: one line each, prefixed with the program.

Under systemd (JOURNAL_STREAM names our stderr) each line carries a `<N>` priority
prefix so the journal files errors as errors. Verbosity: -q shows errors only,
-v adds info, -vv debug.
"""

import os
import sys

ERROR, WARNING, NOTICE, INFO, DEBUG = 3, 4, 5, 6, 7
_LEVELS = {ERROR: "error", WARNING: "warning", NOTICE: None, INFO: None, DEBUG: "debug"}

_state = {"prog": os.path.basename(sys.argv[0]) or "rex", "threshold": NOTICE, "journal": None}


def setup(prog=None, verbosity=0):
    """Set the program name and how much to say (-1 quiet, 0 normal, 1 -v, 2 -vv)."""
    if prog:
        _state["prog"] = prog
    _state["threshold"] = {-1: ERROR, 0: NOTICE, 1: INFO}.get(verbosity, DEBUG if verbosity > 1 else ERROR)


def prog():
    return _state["prog"]


def _journal():
    """True when stderr is the stream systemd told us about in JOURNAL_STREAM."""
    if _state["journal"] is None:
        _state["journal"] = False
        value = os.environ.get("JOURNAL_STREAM", "")
        if ":" in value:
            try:
                st = os.fstat(sys.stderr.fileno())
                dev, ino = value.split(":", 1)
                _state["journal"] = (st.st_dev, st.st_ino) == (int(dev), int(ino))
            except (OSError, ValueError, AttributeError):
                pass
    return _state["journal"]


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text):
    """TEXT with control characters and undecodable bytes (surrogateescape) escaped, so
    that a hostile name never sends raw control bytes to a terminal or splits a line."""
    if text.isprintable():
        return text
    return "".join(_escape(c) for c in text)


def _escape(char):
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029):
        return _NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return char


def emit(priority, message):
    if priority > _state["threshold"]:
        return
    label = _LEVELS.get(priority)
    text = printable(" ".join(str(message).splitlines())) or "(no message)"
    line = f"{_state['prog']}: {label}: {text}" if label else f"{_state['prog']}: {text}"
    if _journal():
        line = f"<{priority}>{line}"
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        pass


def error(message):
    emit(ERROR, message)


def warning(message):
    emit(WARNING, message)


def notice(message):
    emit(NOTICE, message)


def info(message):
    emit(INFO, message)


def debug(message):
    emit(DEBUG, message)


def enabled(priority):
    return priority <= _state["threshold"]
