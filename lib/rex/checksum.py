"""MD5 checksums and `md5sum`-compatible sidecars.

A sidecar `NAME.md5` holds `<hex>  <name>\\n`, so `md5sum -c NAME.md5` run in the
backup's directory accepts it; a sidecar is read in either form md5sum writes
(also `md5sum --tag`'s `MD5 (<name>) = <hex>`). Hashing reads with large buffers
and posix_fadvise sequential hints, and a large file is read ahead by a second
thread while the first hashes; hashlib releases the GIL, so threads hash files
in parallel.
"""

import hashlib
import os

from .errors import DataError

SUFFIX = ".md5"
CHUNK = 1 << 20
PIPELINE_MIN = 8 * CHUNK   # larger files are read ahead by a second thread


def sidecar_path(path):
    return os.fspath(path) + SUFFIX


def md5_file(path):
    """Hex MD5 of a file's bytes (following symlinks)."""
    h = hashlib.md5()
    fd = os.open(path, os.O_RDONLY)
    try:
        if hasattr(os, "posix_fadvise"):
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            except OSError:
                pass
        if os.fstat(fd).st_size > PIPELINE_MIN:
            _hash_pipelined(fd, h)
        else:
            _hash_serial(fd, h)
    finally:
        os.close(fd)
    return h.hexdigest()


def _hash_serial(fd, h):
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = os.readv(fd, [buf])
        if not n:
            break
        h.update(view[:n])


def _hash_pipelined(fd, h, depth=3):
    """Hash while a second thread reads the next chunks: the copy out of the page cache
    (or the wait for the disk) overlaps the hashing instead of adding to it. Both
    os.readv and hashlib release the GIL."""
    import queue
    import threading

    free, full = queue.SimpleQueue(), queue.SimpleQueue()
    for _ in range(depth):
        free.put(bytearray(CHUNK))

    def reader():
        try:
            while True:
                buf = free.get()
                if buf is None:
                    return
                n = os.readv(fd, [buf])
                full.put((buf, n))
                if not n:
                    return
        except BaseException as exc:  # handed to the hashing thread, raised there
            full.put((exc, 0))

    thread = threading.Thread(target=reader, name="md5-reader", daemon=True)
    thread.start()
    try:
        while True:
            buf, n = full.get()
            if isinstance(buf, BaseException):
                raise buf
            if not n:
                break
            h.update(memoryview(buf)[:n])
            free.put(buf)
    finally:
        free.put(None)
        thread.join()


def sidecar_line(hexdigest, name):
    """The bytes md5sum writes for `name` (str or bytes): the name's own bytes (a name
    that is not UTF-8 stays as it is on disk), with md5sum's escaped form for a
    backslash or newline in it: a leading backslash, then \\\\ and \\n."""
    raw = os.fsencode(name)
    if b"\n" in raw or b"\\" in raw:
        escaped = raw.replace(b"\\", b"\\\\").replace(b"\n", b"\\n")
        return b"\\" + hexdigest.encode("ascii") + b"  " + escaped + b"\n"
    return hexdigest.encode("ascii") + b"  " + raw + b"\n"


def write_sidecar(path, hexdigest):
    """Write `path.md5` atomically for the file `path`, whatever bytes its name holds."""
    from .fsutil import write_atomic

    write_atomic(sidecar_path(path), sidecar_line(hexdigest, os.path.basename(path)))


def read_sidecar(path):
    """The hex digest recorded for `path`; DataError if the sidecar is unreadable."""
    side = sidecar_path(path)
    with open(side, "rb") as f:
        text = f.read(4096).decode("utf-8", "surrogateescape")
    digest = parse_line(text.split("\n", 1)[0])
    if digest is None:
        raise DataError(f"malformed sidecar {side}")
    return digest


def parse_line(line):
    """The lower-case hex digest of one line as `md5sum -c` reads it, or None.

    Both of md5sum's forms: GNU `HEX  NAME` (or `HEX *NAME`, binary mode) and BSD
    `MD5 (NAME) = HEX` from `md5sum --tag` or macOS `md5`; either may start with a
    backslash when the name is escaped.
    """
    if line.startswith("\\"):
        line = line[1:]
    if line.startswith("MD5 (") and ") = " in line:
        digest = line.rsplit(") = ", 1)[1]
    else:
        digest, sep, _name = line.partition("  ")
        if not sep:
            digest, sep, _name = line.partition(" *")
    digest = digest.strip().lower()
    if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return digest
