"""Starting a cloned standby, waiting until it streams, and promoting it."""

import os
import re
import socket
import subprocess
import time

from ..errors import RexError, TempFail
from .primary import one_json

STEPS = ("point Resolve's clients (and rex-pgdump) at this server's host and port 5432",
         "fence the old primary so it never accepts writes again",
         "clone the old primary's host afresh as the new standby: rex-standby clone")


def start(program_dir, target, port, owner=None):
    """pg_ctl start on `port`, sockets in the data directory; the server runs as `owner`."""
    from ..runner import popen

    argv = [os.path.join(program_dir, "pg_ctl"), "start", "-w", "-t", "120", "-D", target,
            "-l", os.path.join(target, "rex-standby.log"), "-o", f"-p {int(port)} -k {target}"]
    kwargs = {}
    if owner is not None:
        kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    with popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd="/",
               **kwargs) as proc:
        out, _ = proc.communicate(timeout=180)
    if proc.returncode != 0:
        raise TempFail(f"pg_ctl start failed: {out.decode('utf-8', 'replace').strip()[-300:]}")


def wait_streaming(primary, slot, timeout=120):
    """Wait until the primary's slot is active: the standby streams."""
    from ..standby.checks import quote_literal

    deadline = time.monotonic() + timeout
    sql = f"SELECT to_json(coalesce((SELECT active FROM pg_replication_slots WHERE slot_name = {quote_literal(slot)}), false))"
    while not one_json(primary, sql):
        if time.monotonic() > deadline:
            raise TempFail(f"the standby did not stream within {timeout} s (slot {slot} inactive)")
        time.sleep(0.3)


def answers(host, port, timeout=3):
    """Whether something accepts TCP connections at host:port."""
    if not host or host.startswith("/"):
        return False
    try:
        with socket.create_connection((host, int(port or 5432)), timeout=timeout):
            return True
    except OSError:
        return False


def conninfo_address(conninfo):
    """(host, port) named by a primary_conninfo string, either may be None."""
    found = dict(re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", conninfo or ""))
    clean = {k: re.sub(r"\\(.)", r"\1", v[1:-1]) if v.startswith("'") else v for k, v in found.items()}
    host = clean.get("host") or clean.get("hostaddr")
    return (host.split(",")[0] if host else None), (clean.get("port", "").split(",")[0] or None)


def standby_facts(server):
    return one_json(server, """SELECT json_build_object('in_recovery', pg_is_in_recovery(),
        'conninfo', current_setting('primary_conninfo', true),
        'status', (SELECT status FROM pg_stat_wal_receiver), 'sender_host', (SELECT sender_host FROM pg_stat_wal_receiver),
        'sender_port', (SELECT sender_port FROM pg_stat_wal_receiver),
        'replay_lag_bytes', pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint)""")


def promote(server, force=False, primary_host=None, primary_port=None):
    """Promote a standby; refuse while its primary answers (unless forced). Returns its facts."""
    facts = standby_facts(server)
    if not facts["in_recovery"]:
        raise RexError("server is not a standby (not in recovery); nothing to promote", code=1)
    named_host, named_port = conninfo_address(facts.get("conninfo"))
    host = primary_host or facts.get("sender_host") or named_host
    port = primary_port or facts.get("sender_port") or named_port
    if not force and (facts.get("status") == "streaming" or answers(host, port)):
        raise RexError(f"the primary ({host}:{port}) still answers; stop it first or use --force", code=1)
    if not one_json(server, "SELECT to_json(pg_promote(true, 60))"):
        raise TempFail("pg_promote did not finish within 60 s")
    return facts


def clone_standby(server, password, directory, slot, owner, start_port, and_start=False, progress=False):
    """Clone the primary behind `server` into `directory` as a streaming standby and, when
    asked, start it on `start_port` and wait until it streams. Returns (path, major, what
    to tell the user)."""
    from ..pg.server import major_of, server_version_num
    from . import clone as cloning

    with cloning.session(server, password) as session:
        major = major_of(server_version_num(session))
        cloning.clone(session, directory, slot, major, owner, progress=progress)
        target = os.path.abspath(directory)
        bindir = os.path.dirname(cloning.find_basebackup(major))
        if not and_start:
            return target, major, (f"start it: {bindir}/pg_ctl start -D {target} -o '-p {start_port}' "
                                   "(as the server's user)")
        start(bindir, target, start_port, owner)
        wait_streaming(session, slot)
        return target, major, f"standby in {target} streams on port {start_port}"
