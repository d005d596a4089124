"""How rclone spells a remote (`NAME:PATH`, `:BACKEND[,OPTIONS]:PATH`) and a stored link.

A value syntax like durations: configuration checks a remote with it and retention
plans over link objects with it, both below the remote/ package that runs rclone, so
it lives here, in the base layer, once (remote.rclone re-exports it).
"""

import re

# How `rclone --links` stores a symbolic link on a remote: an object of this suffix
# holding the link's target.
LINK_SUFFIX = ".rclonelink"

# `name:path` (a configured remote) or `:backend[,opts]:path` (a connection string).
_NAME = re.compile(r"[\w.@][\w.@ -]*\Z")
_SECRET_OPTION = re.compile(r"(pass|secret|token|key|password|session)\w*=", re.I)


def check_remote(remote):
    """The remote `NAME:PATH` normalised (no trailing slash), or ValueError saying why not.

    A leading dash would make it an rclone option; a bare path would be the local
    disk; credentials in a connection string would land in argv (and `ps`).
    """
    if not isinstance(remote, str) or not remote.strip():
        raise ValueError("empty remote; give REMOTE:PATH")
    if any(c in remote for c in "\n\r\0"):
        raise ValueError("a remote cannot contain a newline or NUL")
    if remote.startswith(":"):
        backend, sep, _path = remote[1:].partition(":")
        if not sep or not backend:
            raise ValueError(f"{remote!r}: a connection string is :BACKEND[,OPTIONS]:PATH")
        secrets = [m.group(0).rstrip("=") for m in _SECRET_OPTION.finditer(backend)]
        if secrets:   # named by option, never quoted: the message goes to the journal and cron mail
            raise ValueError(f"the remote's connection string holds credentials ({', '.join(secrets)}), which "
                             "would show in argv; put them in the rclone config file or RCLONE_CONFIG_* variables")
    else:
        name, sep, _path = remote.partition(":")
        if not sep or not _NAME.match(name) or name.endswith(" "):
            raise ValueError(f"{remote!r}: not REMOTE:PATH (a remote name from the rclone config, "
                             "a colon, then the path on it)")
    stripped = remote.rstrip("/")
    return stripped if not stripped.endswith(":") else remote[:len(stripped) + 1]


def join(remote, relative):
    """The remote path of `relative` (a /-separated path) under `remote`."""
    colon = remote.index(":", 1) if remote.startswith(":") else remote.index(":")
    if colon == len(remote) - 1 or remote.endswith("/"):
        return remote + relative      # the remote's root (NAME:) or a path ending in /
    return f"{remote}/{relative}"
