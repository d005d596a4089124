"""Where things live, and names that are safe on every filesystem.

All locations follow the XDG variables (so a test or a second instance can run in
its own directories), with the macOS equivalents when no XDG variable is set.
Names that come from Resolve or a database go through `safe_name`, an injective
mapping, so two different names never land on the same file and no name escapes
the backup root.
"""

import os
import re
import sys
import time
import unicodedata

APP = "rex"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
STAMP_LEN = 16


def _xdg(var, linux_default, mac_default):
    value = os.environ.get(var)
    if value and os.path.isabs(value):
        return value
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, mac_default)
    return os.path.join(home, linux_default)


def config_home():
    return _xdg("XDG_CONFIG_HOME", ".config", "Library/Application Support")


def data_home():
    return _xdg("XDG_DATA_HOME", ".local/share", "Library/Application Support")


def state_home():
    return _xdg("XDG_STATE_HOME", ".local/state", "Library/Application Support")


def config_dirs():
    """System configuration directories, most important first."""
    value = os.environ.get("XDG_CONFIG_DIRS", "")
    dirs = [d for d in value.split(":") if os.path.isabs(d)]
    return dirs or ["/etc/xdg"]


def user_config_file():
    return os.path.join(config_home(), APP, "rex.yaml")


SYSTEM_CONFIG_FILE = "/etc/rex/rex.yaml"


def state_dir(*parts):
    """Rex's state directory (STATE_DIRECTORY under systemd), created private."""
    base = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    path = os.path.join(base or os.path.join(state_home(), APP), *parts)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def default_backup_root():
    return os.path.join(data_home(), APP, "backups")


# --- time stamps -------------------------------------------------------------

def stamp(when=None):
    """A UTC stamp `YYYYMMDDTHHMMSSZ` that sorts by time and has no colon."""
    return time.strftime(STAMP_FORMAT, time.gmtime(when if when is not None else time.time()))


_STAMP = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z\Z")


def parse_stamp(text):
    """Seconds since the epoch for a stamp, or None if `text` is not one.

    Parsed by hand rather than with strptime, which is slow (rex-prune reads
    100,000 names) and lenient (short fields, leap seconds).
    """
    import calendar

    if not isinstance(text, str) or len(text) != STAMP_LEN:
        return None
    m = _STAMP.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second = map(int, m.groups())
    if not (year >= 1 and 1 <= month <= 12 and hour < 24 and minute < 60 and second < 60):
        return None
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def split_backup_name(filename):
    """('name', 'stamp', '.ext') for `<name>_<stamp><ext>`, or None."""
    base, dot, ext = filename.rpartition(".")
    if not dot:
        return None
    name, sep, when = base.rpartition("_")
    if not sep or len(when) != STAMP_LEN or parse_stamp(when) is None:
        return None
    return name, when, "." + ext


# --- safe names -----------------------------------------------------------------

MAX_NAME_BYTES = 200
# Windows reserves COM¹..COM³ and LPT¹..LPT³ (superscript digits) as well.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{dev}{i}" for dev in ("COM", "LPT") for i in (*range(10), *"¹²³"))}
# Characters that some filesystem (FAT, NTFS, SMB, HFS+) or shell treats specially.
_UNSAFE = set('/\\:*?"<>|%') | {chr(c) for c in range(32)} | {"\x7f"}


def _escape(ch):
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def safe_name(name):
    """Map any string to one path component, injectively.

    Unsafe characters become `%XX` of their UTF-8 bytes, and `%` itself is always
    escaped, so `unsafe_name` inverts the mapping and two names never collide. A
    leading `.` or `-`, a trailing dot or space and reserved device names (CON,
    NUL, ...) are escaped too. An over-long name keeps a readable head and a
    digest of the whole behind `%~`, which no escaped name can contain.
    """
    if not isinstance(name, str):
        name = str(name)
    if not name:
        return "%"  # a lone % is never produced otherwise
    last = len(name) - 1
    out = []
    for i, ch in enumerate(name):
        escape = ch in _UNSAFE or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")
        escape = escape or (i == 0 and ch in ".-") or (i == last and ch in ". ")
        out.append(_escape(ch) if escape else ch)
    if name.split(".")[0].rstrip(" ").upper() in _RESERVED:
        out[0] = _escape(name[0])
    text = "".join(out)
    raw = text.encode("utf-8", "surrogateescape")
    if len(raw) > MAX_NAME_BYTES:
        import hashlib

        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        head = raw[: MAX_NAME_BYTES - 18].decode("utf-8", "ignore")
        cut = head.rfind("%")
        if cut >= len(head) - 2:
            head = head[:cut]
        text = f"{head}%~{digest}"
    return text


def unsafe_name(text):
    """Invert `safe_name` (for names that were not shortened)."""
    from urllib.parse import unquote

    if text == "%":
        return ""
    return unquote(text, errors="surrogatepass")


def path_matches(path, pattern):
    """Shell-glob match: a pattern with `/` against the whole path, else the file name
    (`*` crosses `/`)."""
    from fnmatch import fnmatchcase

    path = str(path)
    return fnmatchcase(path if "/" in pattern else os.path.basename(path), pattern)


def path_selected(path, include=(), exclude=()):
    """Included (by any pattern, or no pattern given) and not excluded by any."""
    if include and not any(path_matches(path, p) for p in include):
        return False
    return not any(path_matches(path, p) for p in exclude)


def real_parent(path):
    """`path` with its directories resolved and its last component kept: one spelling for
    every way of writing it (relative, `./`, `//`, a symlinked root), while a link stays a link."""
    head, tail = os.path.split(os.path.abspath(path))
    return os.path.join(os.path.realpath(head), tail)


def inside(root, path):
    """True when `path` (resolved) lies within `root` (resolved)."""
    root = os.path.realpath(root)
    path = os.path.realpath(path)
    return os.path.commonpath([root, path]) == root


def join_safe(root, *names):
    """`root/safe(n1)/safe(n2)/...`, refusing anything that would leave root."""
    path = os.path.join(root, *(safe_name(n) for n in names))
    if not inside(root, path):
        from .errors import DataError

        raise DataError(f"refusing a path outside the backup root: {path}")
    return path
