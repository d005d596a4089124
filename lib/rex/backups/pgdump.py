"""Dumping a project library into the backup tree as a verified custom-format file.

pg_dump writes the temporary file itself (not a pipe), so the archive carries
data offsets: pg_restore can then pull one table, or restore in parallel,
without scanning the whole file. A dump counts only when pg_dump exited 0, the
file is non-empty and its table of contents lists at least one table; only then
is it hashed (while still in the page cache), given its sidecar and renamed.
pg_dump's own command lines and answers are pg/dump.py.
"""

import contextlib
import errno
import os
import time
from dataclasses import dataclass

from .. import errors, fsutil, log, paths
from ..errors import IOFailure, RexError
from ..pg.dump import SUFFIX, failure, pg_dump_argv, pg_dumpall_globals_argv, toc_check
from ..runner import run
from .sets import clean_directory, fresh_path, publish


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
            raise failure(result, f"pg_dump {database}", database)
        digest, size, tables = _guarded(f"writing {final}", lambda: publish(temp, final, toc_check(pg_restore)))
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
            raise failure(result, "pg_dumpall --globals-only", None)
        digest, size, _ = _guarded(f"writing {final}", lambda: publish(temp, final))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return Dumped("globals", final, size, digest, None, 0.0)


# Failures that affect the whole run: the run stops there, leaving what is done.
RUN_WIDE = (errors.IOFailure, errors.TempFail, errors.NoPermission, errors.Unavailable)


def dump_all(server, names, root, pg_dump, compression=None, timeout=None, globals_=False):
    """Dump each library of `names`, then the globals when asked: yields (name, Dumped or
    None, exit code) per dump, name None for the globals; each failure named on stderr.
    A failure that affects the run (disk full, server down) ends it, its code last."""
    from ..pg.tools import sibling

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
