"""A small real backup tree for rex-web's serving tests, made by the commands: library dumps from a
real cluster (rex-pgdump), verified by rex-verify with one dump damaged first (FAILED), an
old verified backup (STALE), a fresh one never verified (UNVERIFIED), and a run history
written by rex-report (a success, and a failure with its log tail)."""

import os
from datetime import datetime, timezone

from backuptree import put
from conftest import run_cmd, user_env

FAILURE_TAIL = "pg_dump: error: connection to server on socket lost\nrex-pgdump: giving up after 3 tries"


def build(base, cluster):
    """The environment (user_env under `base`) whose backup root and state hold the tree;
    `env["WEBTREE_FAILED"]` etc. name the set of each state."""
    env = user_env(base, **cluster.env())
    root = env["REX_BACKUP_ROOT"]
    dumped = run_cmd("rex-pgdump", "-Z", "0", "--all", env=env)
    assert dumped.returncode == 0, dumped.err
    dumps = sorted(dumped.out.splitlines())
    damaged = next(p for p in dumps if "Commercials" in p)
    with open(damaged, "r+b") as f:
        f.seek(os.path.getsize(damaged) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x40]))
    old = put(os.path.join(root, "archive"), "handover-notes", "20260102T120000Z", b"notes\n", ext=".txt")
    verified = run_cmd("rex-verify", *dumps, old, env=env)
    assert verified.returncode == 65, verified.err
    now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    put(os.path.join(root, "scratch"), "grade-stills", now, b"stills\n", ext=".txt")

    log = os.path.join(base, "pgdump.log")
    with open(log, "w", encoding="utf-8") as f:
        f.write("rex-pgdump: dumping Commercials 2026\n" + FAILURE_TAIL + "\n")
    for argv in (["start", "rex-verify"], ["success", "rex-verify"], ["start", "rex-pgdump"],
                 ["failure", "rex-pgdump", "--exit-status", "69", "--log", log]):
        reported = run_cmd("rex-report", *argv, env=env)
        assert reported.returncode == 0, reported.err
    return env
