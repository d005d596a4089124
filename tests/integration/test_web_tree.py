"""What rex-web says about a backup tree built by the commands themselves: dumps of a
real cluster (rex-pgdump), projects exported from the simulator (rex-export) and
deduplicated (rex-dedupe), everything verified (rex-verify) and uploaded to a real rclone
remote (rex-upload), then one dump damaged and found so by rex-verify run under
rex-report, one set stale, one newer dump not verified yet."""

import os
import sys
import textwrap
import time

import pytest

import backuptree
from conftest import BIN
from rex.config.loader import load
from rex.web.status import Status

from _rexsim import state as resolve

DB = "Local Database"


def ok(result):
    assert result.returncode == 0, result.err
    return [line for line in result.out.splitlines() if line]


@pytest.mark.slow
@pytest.mark.parametrize("remote", ["sftp"], indirect=True)
def test_every_state_of_a_tree_built_by_the_commands(run, sim, pg_cluster, remote, tmp_path, monkeypatch):
    env = dict(sim, **pg_cluster.env())
    config_file = os.path.join(env["XDG_CONFIG_HOME"], "rex", "rex.yaml")
    os.makedirs(os.path.dirname(config_file))
    with open(config_file, "w") as f:
        f.write(textwrap.dedent(f"""\
            upload:
              remote: {remote.name}:web-tree
              rclone_config: {remote.conf}
            web:
              expect: {{globals: 1s}}
              stale_factor: 1
            """))
    root, state = env["REX_BACKUP_ROOT"], os.path.join(env["XDG_STATE_HOME"], "rex")

    # Dumps of two libraries (and the globals, expected every second: soon stale), exports of three projects.
    dumps = ok(run("rex-pgdump", "-Z", "0", "--globals", "Resolve Projects", "Commercials 2026", env=env))
    for folder, name in (((), "Demo"), (("Jobs",), "Spot"), (("Archive",), "Old")):
        resolve.add_project(DB, folder, name)
    first = ok(run("rex-export", env=env))
    time.sleep(1.05)
    second = ok(run("rex-export", "--force", env=env))
    assert ok(run("rex-dedupe", env=env, input="\n".join(second) + "\n")) == second
    assert all(os.path.islink(p) for p in second)
    assert run("rex-verify", "-r", root, env=env).returncode == 0
    uploaded = run("rex-upload", "--sync", root, env=env)
    assert uploaded.returncode == 0, uploaded.err

    # One dump damaged in place, found by rex-verify run under rex-report; a newer dump not verified yet.
    [damaged] = [p for p in dumps if "Commercials" in p]
    backuptree.corrupt(damaged)
    failed = run("rex-report", "run", "rex-verify", "--", sys.executable, os.path.join(BIN, "rex-verify"), damaged,
                 env=env)
    assert failed.returncode == 65 and "checksum mismatch" in failed.err
    time.sleep(1.05)
    [newer] = ok(run("rex-pgdump", "-Z", "0", "Resolve Projects", env=env))

    status = Status(load(config_file), root=root, state=state)
    sets = {s["name"]: s for s in status.sets()}
    assert {name: s["state"] for name, s in sets.items()} == {
        "Resolve Projects": "UNVERIFIED", "Commercials 2026": "FAILED", "globals": "STALE",
        "Demo": "OK", "Spot": "OK", "Old": "OK"}

    projects = sets["Resolve Projects"]
    assert (projects["kind"], projects["library"], projects["count"]) == ("dump", "Resolve Projects", 2)
    assert projects["newest"] == _iso(newer) and projects["verified_newest"] == projects["uploaded_newest"]
    assert projects["verified_newest"] is not None and projects["verified_newest"] < projects["newest"]
    assert projects["reasons"] == ["newest backup not verified"]

    commercials = sets["Commercials 2026"]
    assert commercials["verify_failed"] is True and commercials["verified_newest"] is None
    assert "checksum mismatch" in commercials["reasons"][0]

    assert sets["globals"]["kind"] == "globals" and sets["globals"]["reasons"][0].startswith("newest backup ")

    for name, project in (("Demo", "Demo"), ("Spot", "Spot"), ("Old", "Old")):
        export = sets[name]
        assert (export["kind"], export["library"], export["project"], export["count"]) == ("export", DB, project, 2)
        assert export["saved_bytes"] == export["bytes"] > 0          # the re-export is a link to the first
        assert export["uploaded_newest"] == export["newest"] == export["verified_newest"]
        assert export["uploaded_at"] is not None and export["verified_at"] is not None

    [run_] = status.jobs(job="rex-verify")
    assert run_["status"] == "failure" and run_["exit_code"] == 65 and "checksum mismatch" in run_["log_tail"]

    health = status.health()
    assert health["verdict"] == "CRITICAL"
    assert health["reasons"][0].startswith("1 set FAILED: ") and "Commercials 2026" in health["reasons"][0]
    assert any(r.startswith("1 set STALE: ") for r in health["reasons"])
    assert any(r.startswith("1 set UNVERIFIED: ") for r in health["reasons"])
    assert any(r.startswith("rex-verify failed on ") for r in health["reasons"])
    assert len(first) == 3


@pytest.mark.slow
def test_the_standby_section_checks_the_server_web_standby_names(pg_cluster, tmp_path, monkeypatch):
    """A primary with no standby and no slot yet: UNKNOWN, as rex-standby status says, with its thresholds."""
    cluster = pg_cluster.env()
    for var in ("PGUSER", "PGPASSFILE"):
        monkeypatch.setenv(var, cluster[var])
    config_file = tmp_path / "rex.yaml"
    config_file.write_text(f"web:\n  standby: \"{cluster['PGHOST']}:{cluster['PGPORT']}\"\n")
    status = Status(load(str(config_file)), root=str(tmp_path / "backups"), state=str(tmp_path))
    standby = status.standby()
    assert (standby["configured"], standby["side"], standby["status"], standby["connected"]) == (
        True, "primary", "UNKNOWN", False)
    assert standby["reasons"] == ["no standby connected and no slot rex_standby"]
    assert standby["thresholds"] == {"warn": {"bytes": 16 << 20, "seconds": 300.0},
                                     "crit": {"bytes": 256 << 20, "seconds": 600.0}}
    assert "standby UNKNOWN: no standby connected and no slot rex_standby" in status.health()["reasons"]


def _iso(path):
    stamp = os.path.basename(path).rsplit("_", 1)[1].split(".")[0]
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
