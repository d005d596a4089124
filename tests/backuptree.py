"""Backup trees for the prune tests: stamped backups with their sidecars, backup paths
spelled as users write them, and backups damaged in place."""

import datetime
import os

from rex.checksum import md5_file, write_sidecar


def stamp(day, hour=12):
    return (datetime.datetime(2026, 1, 1) + datetime.timedelta(days=day, hours=hour)).strftime("%Y%m%dT%H%M%SZ")


def put(directory, name, when, content, ext=".sql"):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}_{when}{ext}")
    with open(path, "wb") as f:
        f.write(content)
    write_sidecar(path, md5_file(path))
    return path


def spell(path, how, base):
    """`path` written as a user might: through the symlinked root `base`/alias, relative to
    `base` (the cwd), with `./`, or with doubled slashes."""
    rel = os.path.relpath(path, base)
    if how == "alias":
        return os.path.join(base, "alias", os.path.relpath(path, os.path.join(base, "backups")))
    if how == "relative":
        return rel
    if how == "dot":
        return "./" + rel.replace("/", "/./")
    if how == "slashes":
        return path.replace("/", "//")
    return path


def corrupt(path, when=None):
    """Damage a backup in place (its sidecar no longer matches), with a new mtime."""
    with open(path, "r+b") as f:
        f.write(b"X")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, when if when is not None else st.st_mtime_ns + 5_000_000_000))


SPELLINGS = ["alias", "relative", "dot", "slashes", "plain"]
