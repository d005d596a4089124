"""pg_dump and pg_dumpall as data: their command lines, which libraries a run dumps,
what a failed run means and whether a finished dump holds anything.

Writing a dump into the backup tree (stamped names, sidecars, leftovers) is
backups/pgdump.py; this module only speaks PostgreSQL.
"""

import fnmatch
import os

from ..errors import DataError, IOFailure
from ..runner import disk_full, stderr_tail
from .archive import read_toc
from .server import classify, conninfo_dbname

SUFFIX = ".backup"


def pg_dump_argv(pg_dump, database, output, compression=None):
    """The pg_dump command line for one library (custom format, large objects, no prompt)."""
    argv = [pg_dump, "--format=custom", "--blobs", "--no-password",
            f"--file={output}"]
    if compression is not None:
        argv.append(f"--compress={compression}")
    argv.append(f"--dbname={conninfo_dbname(database)}")
    return argv


def pg_dumpall_globals_argv(pg_dumpall, output):
    return [pg_dumpall, "--globals-only", "--no-password", f"--file={output}"]


def failure(result, what, database):
    """The exit-coded error of a failed pg_dump/pg_dumpall run (disk full, server, data)."""
    text = result.stderr
    if disk_full(text):
        return IOFailure(f"{what}: disk full: {stderr_tail(text)}")
    return classify(text, what, database)


def toc_check(pg_restore):
    """A check for backups.sets.publish: the dump's table count, DataError when it lists none."""
    def check(temp, final):
        tables = read_toc(pg_restore, temp).tables
        if tables < 1:
            raise DataError(f"{os.path.basename(final)}: dump lists no table")
        return tables
    return check


def choose_databases(operands, every=None, include_postgres=False, exclude=(), configured=()):
    """The libraries to dump, each once: those named, else with --all (`every`: the
    server's list) all but postgres (unless included) and the `exclude` globs, else the
    configured ones. Returns (names, excluded)."""
    if operands:
        return list(dict.fromkeys(operands)), []
    if every is None:
        return list(dict.fromkeys(configured)), []
    names, excluded = [], []
    for name in every:
        if name == "postgres" and not include_postgres:
            continue
        (excluded if any(fnmatch.fnmatchcase(name, p) for p in exclude) else names).append(name)
    return names, excluded
