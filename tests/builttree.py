"""A real backup tree for rex-web's serving tests, made by the commands: library dumps from a
real cluster (rex-pgdump), project exports from the Resolve simulator (rex-export) exported
twice and deduplicated (rex-dedupe), everything verified (rex-verify) and, given a remote,
uploaded (rex-upload); then one dump damaged and found so by rex-verify (FAILED), an old
verified backup (STALE), a fresh one never verified (UNVERIFIED), and a run history
written by rex-report (a success, and a failure with its log tail)."""

import os
import time
from datetime import datetime, timezone

from backuptree import corrupt, put
from conftest import run_cmd, sim_env, user_env

FAILURE_TAIL = "pg_dump: error: connection to server on socket lost\nrex-pgdump: giving up after 3 tries"
DB = "Local Database"


def ok(result):
    assert result.returncode == 0, result.err
    return [line for line in result.out.splitlines() if line]


def build(base, cluster, remote=None):
    """The environment (user_env under `base`, reaching the cluster, a simulator and, given
    `remote` (tests/rclone_remote.Remote), that remote) whose backup root and state hold the tree."""
    env = sim_env(user_env(base, **cluster.env()), os.path.join(base, "sim.json"))
    root = env["REX_BACKUP_ROOT"]
    if remote is not None:
        config = os.path.join(env["XDG_CONFIG_HOME"], "rex", "rex.yaml")
        os.makedirs(os.path.dirname(config))
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"upload:\n  remote: {remote.name}:web-tree\n  rclone_config: {remote.conf}\n")
    dumps = ok(run_cmd("rex-pgdump", "-Z", "0", "--all", env=env))
    _projects(env["REX_SIM_STATE"], ("Demo", "Spot"))
    ok(run_cmd("rex-export", env=env))
    time.sleep(1.05)                         # the next stamp
    again = ok(run_cmd("rex-export", "--force", env=env))
    assert ok(run_cmd("rex-dedupe", env=env, input="\n".join(again) + "\n")) == again
    ok(run_cmd("rex-verify", "-r", root, env=env))
    if remote is not None:
        ok(run_cmd("rex-upload", "--sync", root, env=env, timeout=300))

    [damaged] = [p for p in dumps if "Commercials" in p]
    corrupt(damaged)
    old = put(os.path.join(root, "archive"), "handover-notes", "20260102T120000Z", b"notes\n", ext=".txt")
    verified = run_cmd("rex-verify", damaged, old, env=env)
    assert verified.returncode == 65, verified.err
    now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    put(os.path.join(root, "scratch"), "grade-stills", now, b"stills\n", ext=".txt")

    log = os.path.join(base, "pgdump.log")
    with open(log, "w", encoding="utf-8") as f:
        f.write("rex-pgdump: dumping Commercials 2026\n" + FAILURE_TAIL + "\n")
    for argv in (["start", "rex-verify"], ["success", "rex-verify"], ["start", "rex-pgdump"],
                 ["failure", "rex-pgdump", "--exit-status", "69", "--log", log]):
        ok(run_cmd("rex-report", *argv, env=env))
    return env


def _projects(state_file, names):
    """A running Resolve (the simulator, state in `state_file`) holding the projects `names`."""
    from _rexsim import state

    saved = os.environ.get("REX_SIM_STATE")
    os.environ["REX_SIM_STATE"] = state_file
    try:
        state.empty()
        for name in names:
            state.add_project(DB, (), name)
    finally:
        if saved is None:
            del os.environ["REX_SIM_STATE"]
        else:
            os.environ["REX_SIM_STATE"] = saved
