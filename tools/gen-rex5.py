#!/usr/bin/env python3
"""Regenerate the key list of rex.5 from the configuration schema.

    python3 tools/gen-rex5.py man/rex.5          rewrite the block in place
    python3 tools/gen-rex5.py --check man/rex.5  exit 1 if the block is stale

The block lies between the comment lines `.\\" BEGIN GENERATED KEYS` and
`.\\" END GENERATED KEYS`; everything outside it is written by hand and kept
as it is.  The text comes from rex.config.sample.man_keys(), the same schema that
validates the configuration and writes the sample, so the page cannot drift.
The file is replaced atomically, and only when its content changes.
"""

import os
import sys
import tempfile

BEGIN = '.\\" BEGIN GENERATED KEYS'
END = '.\\" END GENERATED KEYS'

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_here), "lib"))


def regenerate(text, keys):
    """`text` with the lines between the markers replaced by `keys`."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip("\n") == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\n") == END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(f"expected one {BEGIN!r} line followed by one {END!r} line")
    if keys and not keys.endswith("\n"):
        keys += "\n"
    return "".join(lines[: starts[0] + 1]) + keys + "".join(lines[ends[0]:])


def main(argv):
    check = "--check" in argv
    files = [a for a in argv if a != "--check"]
    if len(files) != 1 or files[0].startswith("-"):
        sys.stderr.write("usage: gen-rex5.py [--check] man/rex.5\n")
        return 64
    path = files[0]
    from rex.config.sample import man_keys

    try:
        with open(path, encoding="utf-8") as f:
            old = f.read()
    except OSError as exc:
        sys.stderr.write(f"gen-rex5.py: {path}: {exc.strerror}\n")
        return 66
    try:
        new = regenerate(old, man_keys())
    except ValueError as exc:
        sys.stderr.write(f"gen-rex5.py: {path}: {exc}\n")
        return 65
    if new == old:
        return 0
    if check:
        sys.stderr.write(f"gen-rex5.py: {path}: the key list is out of date; run make man\n")
        return 1
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".rex.5.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, os.stat(path).st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
