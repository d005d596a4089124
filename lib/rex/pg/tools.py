"""Finding the PostgreSQL client programs that match a server.

pg_dump refuses a newer server, and a dump made by a newer pg_dump may restore
into Resolve as an empty library, so Rex picks the pg_dump whose major version
equals the server's, and only falls back to a newer one with a warning.
"""

import functools
import glob
import os
import re
import shutil

from ..errors import Unavailable

SEARCH_GLOBS = (
    "/usr/lib/postgresql/*/bin/pg_dump",                      # Debian, Ubuntu
    "/usr/pgsql-*/bin/pg_dump",                               # RHEL, Rocky
    "/Library/PostgreSQL/*/bin/pg_dump",                      # EDB installer (Resolve on macOS)
    "/Applications/DaVinci Resolve Project Server.app/Contents/*/bin/pg_dump",
    "/Applications/DaVinci Resolve Project Server.app/Contents/*/*/bin/pg_dump",
    "/Applications/Postgres.app/Contents/Versions/*/bin/pg_dump",
    "/opt/homebrew/opt/postgresql@*/bin/pg_dump",
    "/usr/local/opt/postgresql@*/bin/pg_dump",
)

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def major_from_version_text(text):
    """'15' from 'pg_dump (PostgreSQL) 15.18 (Debian ...)', '9.6' from '... 9.6.24'."""
    m = _VERSION.search(text or "")
    if not m:
        return None
    major = int(m.group(1))
    if major < 10 and m.group(2) is not None:
        return f"{major}.{m.group(2)}"
    return str(major)


def major_key(major):
    """Sortable form of a major version: '9.6' -> (9, 6), '15' -> (15, 0)."""
    parts = str(major).split(".")
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0


def candidates():
    """Every pg_dump found on this machine (search globs, then PATH), without duplicates."""
    found, seen = [], set()
    extra = os.environ.get("REX_PG_BINDIRS", "")
    patterns = [os.path.join(d, "pg_dump") for d in extra.split(os.pathsep) if d] + list(SEARCH_GLOBS)
    on_path = shutil.which("pg_dump")
    for path in [p for pattern in patterns for p in sorted(glob.glob(pattern))] + ([on_path] if on_path else []):
        real = os.path.realpath(path)
        if real not in seen and os.access(path, os.X_OK):
            seen.add(real)
            found.append(path)
    return found


@functools.lru_cache(maxsize=None)
def version_of(program):
    """Major version of a client program (asked once per run: Debian's wrappers are slow)."""
    from ..runner import run

    result = run([program, "--version"], timeout=30)
    return major_from_version_text(result.stdout.decode("utf-8", "replace"))


def choose(available, server_major):
    """Pick from {path: major} for a server: (path, warning or None), or Unavailable.

    The same major wins; otherwise the oldest newer one, with a warning; an older
    one is refused, because pg_dump cannot dump a newer server.
    """
    want = major_key(server_major)
    same = [p for p, m in available.items() if m is not None and major_key(m) == want]
    if same:
        return same[0], None
    newer = sorted((major_key(m), p) for p, m in available.items() if m is not None and major_key(m) > want)
    if newer:
        key, path = newer[0]
        return path, (f"no pg_dump {server_major} found; using {path} (version {'.'.join(map(str, key)).removesuffix('.0')}): "
                      "Resolve's Restore may load a dump from a newer pg_dump as an empty library")
    older = sorted((m for m in available.values() if m is not None), key=major_key)
    if older:
        raise Unavailable(f"pg_dump {older[-1]} is older than the server ({server_major}) and cannot dump it; "
                          f"install pg_dump {server_major} or set pgdump.pg_dump")
    raise Unavailable("pg_dump: program not found (install the PostgreSQL client or set pgdump.pg_dump)")


def select_pg_dump(server_major, configured=None):
    """The pg_dump to use for a server of `server_major`: (path, warning)."""
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise Unavailable(f"{configured}: pg_dump not found or not executable")
        return choose({configured: version_of(configured)}, server_major)
    return choose({p: version_of(p) for p in candidates()}, server_major)


def select_pg_restore(server_major, configured=None):
    """The pg_restore for restoring into a server of `server_major`: (path, warning).

    The one beside the matching pg_dump: a newer pg_restore may send settings an
    older server does not know.
    """
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise Unavailable(f"{configured}: pg_restore not found or not executable")
        return configured, None
    program, warning = select_pg_dump(server_major)
    path = sibling(program, "pg_restore")
    if warning:
        warning = f"no pg_restore {server_major} found; using {path} (set restore.pg_restore to choose)"
    return path, warning


def sibling(program, name):
    """`name` (pg_restore, psql, pg_dumpall) from the same directory as `program`."""
    path = os.path.join(os.path.dirname(program), name)
    if os.access(path, os.X_OK):
        return path
    found = shutil.which(name)
    if not found:
        raise Unavailable(f"{name}: program not found")
    return found


def newest(name):
    """The newest installed copy of a client program (a newer pg_restore reads older dumps)."""
    best = None
    for dump in candidates():
        path = os.path.join(os.path.dirname(dump), name)
        if os.access(path, os.X_OK):
            major = version_of(dump)
            if major and (best is None or major_key(major) > best[0]):
                best = (major_key(major), path)
    if best:
        return best[1]
    found = shutil.which(name)
    if not found:
        raise Unavailable(f"{name}: program not found (install the PostgreSQL client)")
    return found
