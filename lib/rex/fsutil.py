"""Files that are either whole or absent, and one run at a time.

Every output is written under a temporary name in its target directory, fsynced,
renamed into place and the directory fsynced (as pgBackRest and restic do), so a
killed run never leaves a partial file under a final name. The temporary names
carry the writer's pid so the next run can remove leftovers of dead writers.
"""

import contextlib
import errno
import fcntl
import os
import secrets
import time

from .errors import IOFailure, TempFail, from_oserror

TEMP_MARK = ".rex-tmp-"


def temp_path(final):
    """A temporary name beside `final`: hidden, marked, with our pid."""
    directory, name = os.path.split(final)
    return os.path.join(directory, f".{name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def is_temp(name):
    return name.startswith(".") and TEMP_MARK in name


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(directory):
    """Remove temporary files in `directory` whose writer is no longer alive.

    Returns the paths removed. Files of live writers (a concurrent run) stay.
    """
    removed = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return removed
    for name in names:
        if not is_temp(name):
            continue
        try:
            pid = int(name.rsplit(TEMP_MARK, 1)[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and _pid_alive(pid):
            continue
        path = os.path.join(directory, name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed.append(path)
    return removed


def fsync_dir(directory):
    fd = os.open(directory or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems refuse fsync on a directory
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(temp, final, replace=False):
    """Move a finished temporary file to its final name, durably.

    Without `replace`, an existing final file is never overwritten (FileExistsError).
    """
    fsync_path(temp)
    if replace:
        os.replace(temp, final)
    else:
        try:
            os.link(temp, final)  # atomic and refuses to overwrite
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if os.path.lexists(final):
                raise FileExistsError(errno.EEXIST, "File exists", final) from None
            os.rename(temp, final)
        else:
            os.unlink(temp)
    fsync_dir(os.path.dirname(final))


def makedirs(path, mode=0o700):
    """Create a directory tree, private by default, mapping errors to exit codes."""
    try:
        os.makedirs(path, mode=mode, exist_ok=True)
    except OSError as exc:
        raise from_oserror(exc, f"cannot create directory {path}") from None


class AtomicFile:
    """A file written to a temporary name and committed on a clean exit.

    With `hasher` (a hashlib object) every byte written is hashed on the way, so
    a checksum costs no second read.
    """

    def __init__(self, final, mode=0o600, replace=True, hasher=None):
        self.final = final
        self.temp = temp_path(final)
        self.mode = mode
        self.replace = replace
        self.hasher = hasher
        self._file = None

    def __enter__(self):
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), self.mode)
        self._file = os.fdopen(fd, "wb")
        return self

    def write(self, data):
        self._file.write(data)
        if self.hasher is not None:
            self.hasher.update(data)

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if exc_type is None:
                commit(self.temp, self.final, replace=self.replace)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp)
        return False


def write_atomic(final, data, mode=0o600, replace=True):
    """Write bytes to `final` atomically."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with AtomicFile(final, mode=mode, replace=replace) as out:
        out.write(data)


@contextlib.contextmanager
def job_lock(name, wait=60.0):
    """Hold the flock for job `name`; wait at most `wait` seconds, then TempFail (75).

    flock is released by the kernel when the holder dies, so a crash or a reboot
    never leaves a lock that blocks later runs.
    """
    from .paths import safe_name, state_dir

    # A job name may carry a user's server name: made safe like any other name.
    path = os.path.join(state_dir("locks"), f"{safe_name(name)}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        delay = 0.05
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TempFail(f"another run holds the lock {path} (waited {wait:g} s)") from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(fd)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def check_free(path, needed, what):
    """Raise IOFailure (74) when `path` has less than `needed` bytes free."""
    if needed and free_bytes(path) < needed:
        raise IOFailure(f"not enough free space for {what} in {path}")
