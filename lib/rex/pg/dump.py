"""Dumping one project library to a verified custom-format file.

pg_dump writes the temporary file itself (not a pipe), so the archive carries
data offsets: pg_restore can then pull one table, or restore in parallel,
without scanning the whole file. A dump counts only when pg_dump exited 0, the
file is non-empty and its table of contents lists at least one table; only then
is it hashed (while still in the page cache), given its sidecar and renamed.
"""

import contextlib
import errno
import fnmatch
import os
import time
from dataclasses import dataclass

from .. import errors, fsutil, log, paths
from ..backups.sets import clean_directory, fresh_path, publish
from ..errors import DataError, IOFailure, RexError
from ..runner import disk_full, run, stderr_tail
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


@dataclass
class Dumped:
    database: str
    path: str
    size: int
    md5: str
    tables: int
    seconds: float


def library_dir(root, server_label, database):
    return paths.join_safe(root, server_label, database)


def _failure(result, what, database):
    text = result.stderr
    if disk_full(text):
        return IOFailure(f"{what}: disk full: {stderr_tail(text)}")
    return classify(text, what, database)


def _toc_check(pg_restore):
    def check(temp, final):
        tables = read_toc(pg_restore, temp).tables
        if tables < 1:
            raise DataError(f"{os.path.basename(final)}: dump lists no table")
        return tables
    return check


def _guarded(what, func):
    """Run `func`; turn OSErrors (ENOSPC above all) into exit-coded errors."""
    try:
        return func()
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise IOFailure(f"{what}: disk full: {exc.strerror}") from None
        from ..errors import from_oserror

        raise from_oserror(exc, what) from None


def dump_library(server, database, root, pg_dump, pg_restore, compression=None, timeout=None):
    """Dump `database` under `root`; returns Dumped or raises an exit-coded error."""
    started = time.monotonic()
    directory = library_dir(root, server.label, database)
    fsutil.makedirs(directory)
    clean_directory(directory)
    final = fresh_path(directory, paths.safe_name(database), SUFFIX)
    temp = fsutil.temp_path(final)
    try:
        result = run(pg_dump_argv(pg_dump, database, temp, compression), env=server.env(), timeout=timeout)
        if not result.ok:
            raise _failure(result, f"pg_dump {database}", database)
        digest, size, tables = _guarded(f"writing {final}", lambda: publish(temp, final, _toc_check(pg_restore)))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        with contextlib.suppress(OSError):
            os.rmdir(directory)   # only if empty: a library that never had a backup leaves no trace
        raise
    return Dumped(database, final, size, digest, tables, time.monotonic() - started)


def dump_globals(server, root, pg_dumpall, timeout=None):
    """pg_dumpall --globals-only beside the libraries: `<root>/<server>/globals_<stamp>.sql`."""
    directory = paths.join_safe(root, server.label)
    fsutil.makedirs(directory)
    clean_directory(directory)
    final = fresh_path(directory, "globals", ".sql")
    temp = fsutil.temp_path(final)
    try:
        result = run(pg_dumpall_globals_argv(pg_dumpall, temp), env=server.env(), timeout=timeout)
        if not result.ok:
            raise _failure(result, "pg_dumpall --globals-only", None)
        digest, size, _ = _guarded(f"writing {final}", lambda: publish(temp, final))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return Dumped("globals", final, size, digest, None, 0.0)


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


# Failures that affect the whole run: the run stops there, leaving what is done.
RUN_WIDE = (errors.IOFailure, errors.TempFail, errors.NoPermission, errors.Unavailable)


def dump_all(server, names, root, pg_dump, compression=None, timeout=None, globals_=False):
    """Dump each library of `names`, then the globals when asked: yields (name, Dumped or
    None, exit code) per dump, name None for the globals; each failure named on stderr.
    A failure that affects the run (disk full, server down) ends it, its code last."""
    from .tools import sibling

    pg_restore = sibling(pg_dump, "pg_restore")
    for name in names:
        try:
            done = dump_library(server, name, root, pg_dump, pg_restore, compression=compression, timeout=timeout)
        except RUN_WIDE as exc:
            log.error(exc.message)
            yield name, None, exc.code
            return
        except RexError as exc:
            log.error(exc.message)
            yield name, None, errors.DATAERR if exc.code == errors.DATAERR else errors.PARTIAL  # 65: no table
            continue
        log.info(f"{name}: {done.size} bytes, {done.tables} tables in {done.seconds:.1f} s")
        yield name, done, errors.OK
    if globals_:
        try:
            yield None, dump_globals(server, root, sibling(pg_dump, "pg_dumpall"), timeout=timeout), errors.OK
        except RexError as exc:
            log.error(exc.message)
            yield None, None, exc.code if exc.code in (errors.IOERR, errors.TEMPFAIL, errors.NOPERM) else errors.PARTIAL


__all__ = ["choose_databases", "dump_all", "dump_library", "dump_globals", "pg_dump_argv", "Dumped", "RexError"]
