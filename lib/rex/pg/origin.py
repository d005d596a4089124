"""Which server a dump is restored to.

A dump written by rex-pgdump sits at `<root>/<HOST>_<PORT>/<library>/<library>_<stamp>.backup`,
so by default a library goes back to the server it came from. Anything the user
says wins over that: the -h/-p/-U options, then the libpq environment (PGHOST,
PGPORT, PGUSER), then the configuration file's restore.* keys; the layout only
fills what none of them set, and libpq's own defaults whatever is still unset.
"""

import os

from .. import paths
from .server import Server


def layout_server(root, dump):
    """(host or None, port) named by the dump's place under the backup root, or None.

    `local` (a Unix socket) gives host None; a directory name that is not HOST_PORT
    (a custom pgdump.server_name) gives None.
    """
    if not root or not paths.inside(root, dump):
        return None
    rel = os.path.relpath(os.path.realpath(dump), os.path.realpath(root)).split(os.sep)
    if len(rel) != 3:
        return None
    label, library, filename = rel
    parts = paths.split_backup_name(filename)
    if parts is None or parts[0] != library:
        return None
    host, sep, port = label.rpartition("_")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    host = paths.unsafe_name(host)
    return (None if host == "local" else host), int(port)


def _given(config, key):
    return config.source(key) != "default"


def restore_server(config, dump=None, remembered=None):
    """The Server for rex-restore: options > environment > file > the dump's layout (or,
    for --drop, the (host, port) `remembered` in state) > libpq's defaults.

    Host and port go together: once either is given, neither comes from the layout.
    """
    host = config.get("restore.host") if _given(config, "restore.host") else None
    port = config.get("restore.port") if _given(config, "restore.port") else None
    if host is None and port is None:
        found = layout_server(config.backup_root, dump) if dump is not None else remembered
        if found:
            host, port = found
    return Server(host, port, config.get("restore.username"), config.get("restore.passfile"),
                  config.get("restore.connect_timeout"))


def restore_target(config, dump=None, remembered=None):
    """(Server, the newest psql, the server's major version) for rex-restore."""
    from .server import major_of, server_version_num
    from .tools import newest

    server = restore_server(config, dump, remembered)
    psql = newest("psql")
    return server, psql, major_of(server_version_num(server, psql=psql))
