"""MD5 checksums and `md5sum`-compatible sidecars.

A sidecar `NAME.md5` holds `<hex>  <name>\\n`, so `md5sum -c NAME.md5` run in the
backup's directory accepts it. Hashing reads with large buffers and posix_fadvise
sequential hints; hashlib releases the GIL, so threads hash files in parallel.
"""

import hashlib
import os

from .errors import DataError

SUFFIX = ".md5"
CHUNK = 1 << 20


def sidecar_path(path):
    return os.fspath(path) + SUFFIX


def md5_file(path):
    """Hex MD5 of a file's bytes (following symlinks)."""
    h = hashlib.md5()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    fd = os.open(path, os.O_RDONLY)
    try:
        if hasattr(os, "posix_fadvise"):
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            except OSError:
                pass
        while True:
            n = os.readv(fd, [buf])
            if not n:
                break
            h.update(view[:n])
    finally:
        os.close(fd)
    return h.hexdigest()


def sidecar_text(hexdigest, name):
    if "\n" in name or "\\" in name:
        # md5sum's escaped form for awkward names: leading backslash, \\ and \n.
        escaped = name.replace("\\", "\\\\").replace("\n", "\\n")
        return f"\\{hexdigest}  {escaped}\n"
    return f"{hexdigest}  {name}\n"


def write_sidecar(path, hexdigest):
    """Write `path.md5` atomically for the file `path`."""
    from .fsutil import write_atomic

    write_atomic(sidecar_path(path), sidecar_text(hexdigest, os.path.basename(path)))


def read_sidecar(path):
    """The hex digest recorded for `path`; DataError if the sidecar is unreadable."""
    side = sidecar_path(path)
    with open(side, "rb") as f:
        text = f.read(4096).decode("utf-8", "surrogateescape")
    line = text.split("\n", 1)[0]
    if line.startswith("\\"):
        line = line[1:]
    digest, sep, _name = line.partition("  ")
    if not sep:
        digest, sep, _name = line.partition(" *")
    digest = digest.strip().lower()
    if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
        raise DataError(f"malformed sidecar {side}")
    return digest
