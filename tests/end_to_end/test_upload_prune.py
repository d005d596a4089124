"""rex-upload --prune-remote against real rclone remotes on loopback (sftp and webdav):
sets spanning days with dedupe links among them, pruned by rex-prune's policy or the
remote's own; exactly the expected objects remain, links still resolve when brought
back with `rclone copy -l`, foreign files survive, a dry run deletes nothing, a failed
upload protects the last good copy, and the failures: remote down, no policy, a
deletion that does not happen."""

import json
import os
import stat
import subprocess
import sys

import pytest

from rclone_remote import Remote, put
from rex.checksum import md5_file, write_sidecar

pytestmark = pytest.mark.slow   # rclone remotes, several runs each

DAYS = [f"202611{d:02d}T120000Z" for d in range(1, 11)] + ["20261110T060000Z"]


@pytest.fixture
def env(rex_env, tmp_path, remote, request):
    os.makedirs(rex_env["REX_BACKUP_ROOT"])
    name = "p-" + request.node.name.replace("[", "-").replace("]", "")
    config = tmp_path / "rex.yaml"
    config.write_text(f"upload:\n  remote: {remote.name}:{name}\n  rclone_config: {remote.conf}\n")
    return dict(rex_env, REX_CONFIG=str(config), TARGET=f"{remote.name}:{name}", SERVED=remote.path(name))


def configure(env, text):
    with open(env["REX_CONFIG"], "a") as f:
        f.write(text)


def served_files(served):
    found = []
    for top, _dirs, files in os.walk(served):
        found += [os.path.relpath(os.path.join(top, f), served) for f in files]
    return sorted(found)


def backups_with_links(run, env):
    """Lib: one dump a day for ten days (two on the last); P: files and dedupe symlinks."""
    root = env["REX_BACKUP_ROOT"]
    for stamp in DAYS:
        put(root, f"pg/db/Lib_{stamp}.backup", os.urandom(3000))
    a, b = os.urandom(5000), os.urandom(5000)
    for day, content in (("01", a), ("02", a), ("03", a), ("04", b), ("05", b)):
        path = put(root, f"projects/Job/P_202611{day}T120000Z.sql", content)
        deduped = run("rex-dedupe", path, env=env)
        assert deduped.returncode == 0, deduped.err
    job = os.path.join(root, "projects", "Job")
    assert [n for n in sorted(os.listdir(job)) if os.path.islink(os.path.join(job, n))] == [
        "P_20261102T120000Z.sql", "P_20261103T120000Z.sql", "P_20261105T120000Z.sql"]
    result = run("rex-upload", "--sync", root, env=env)
    assert result.returncode == 0, result.err
    served = env["SERVED"]
    for foreign in ("README.txt", "pg/db/notes.txt", "pg/db/Lib_20261101T120000Z.backup.bak"):
        with open(os.path.join(served, foreign), "w") as f:
            f.write("not ours")
    return root


def test_prune_remote_by_the_prune_policy_keeps_links_whole(run, env, tmp_path, remote):
    backups_with_links(run, env)
    configure(env, "prune:\n  keep_daily: 3\n  policies:\n    - match: '*.sql'\n      keep_last: 1\n")
    served, target = env["SERVED"], env["TARGET"]
    before = served_files(served)

    dry = run("rex-upload", "--prune-remote", "-n", "--json", env=env)
    assert dry.returncode == 0, dry.err
    assert served_files(served) == before
    would = {json.loads(line)["path"]: json.loads(line) for line in dry.stdout.decode().splitlines()}
    assert all(r["action"] == "would-prune" for r in would.values())
    gone = ([f"pg/db/Lib_{s}.backup" for s in DAYS[:7] + DAYS[10:]]
            + [f"projects/Job/P_202611{d}T120000Z.sql" for d in ("01", "02", "03")])
    assert sorted(would) == sorted(f"{target}/{rel}" for rel in gone)
    assert would[f"{target}/pg/db/Lib_20261101T120000Z.backup"]["reason"] == "removed: no rule keeps it"
    assert "would remove" in dry.err and "kept: daily 2026-11-09" in dry.err
    assert f"keep {target}/projects/Job/P_20261104T120000Z.sql: kept: target of a kept link" in dry.err

    result = run("rex-upload", "--prune-remote", "--json", "-v", env=env)
    assert result.returncode == 0, result.err
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert sorted(r["path"] for r in records) == sorted(would)
    assert {r["action"] for r in records} == {"pruned"}
    assert "removed " in result.err
    kept = [f"pg/db/Lib_{s}.backup" for s in DAYS[7:10]] + ["projects/Job/P_20261104T120000Z.sql"]
    expected = sorted(kept + [k + ".md5" for k in kept]
                      + ["projects/Job/P_20261105T120000Z.sql.rclonelink", "projects/Job/P_20261105T120000Z.sql.md5",
                         "README.txt", "pg/db/notes.txt", "pg/db/Lib_20261101T120000Z.backup.bak"])
    assert served_files(served) == expected
    # Brought back with -l, the kept link resolves to a kept file of the same bytes.
    back = tmp_path / "back"
    subprocess.run(["rclone", "copy", "-l", target, str(back)], check=True,
                   env=dict(os.environ, RCLONE_CONFIG=remote.conf), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    link = back / "projects" / "Job" / "P_20261105T120000Z.sql"
    assert os.readlink(link) == "P_20261104T120000Z.sql" and os.path.isfile(link)
    assert md5_file(str(link)) == md5_file(os.path.join(env["REX_BACKUP_ROOT"], "projects", "Job",
                                                        "P_20261105T120000Z.sql"))
    # Again: nothing more goes.
    again = run("rex-upload", "--prune-remote", "--json", env=env)
    assert again.returncode == 0 and again.stdout == b"", again.err
    assert served_files(served) == expected


def test_a_kept_link_keeps_its_target(run, env, tmp_path):
    """keep_last 1 on the .sql set: its newest is a link to an older file, which stays."""
    root = env["REX_BACKUP_ROOT"]
    content = os.urandom(4000)
    for day in ("01", "02", "03"):
        path = put(root, f"j/P_202611{day}T120000Z.sql", content if day != "02" else os.urandom(10))
        assert run("rex-dedupe", path, env=env).returncode == 0
    # 03 equals 01 but not 02: rex-dedupe compares with the previous only. Link 03 to 01 by hand.
    os.unlink(os.path.join(root, "j", "P_20261103T120000Z.sql"))
    os.symlink("P_20261101T120000Z.sql", os.path.join(root, "j", "P_20261103T120000Z.sql"))
    assert run("rex-upload", "--sync", root, env=env).returncode == 0
    configure(env, "  keep_last: 1\nprune:\n  keep_last: 5\n")      # upload.* overrides prune.*
    result = run("rex-upload", "--prune-remote", "-v", env=env)
    assert result.returncode == 0, result.err
    assert result.stdout == b""                  # plain records are what is on the remote, not what went
    assert served_files(env["SERVED"]) == ["j/P_20261101T120000Z.sql", "j/P_20261101T120000Z.sql.md5",
                                           "j/P_20261103T120000Z.sql.md5",
                                           "j/P_20261103T120000Z.sql.rclonelink"]
    dry = run("rex-upload", "--prune-remote", "-n", env=env)
    assert "kept: target of a kept link" in dry.err, dry.err


def test_a_failed_upload_protects_the_last_good_copy(run, env):
    root = env["REX_BACKUP_ROOT"]
    paths = [put(root, f"pg/db/Lib_{s}.backup", os.urandom(2000)) for s in DAYS[:4]]
    assert run("rex-upload", *paths[:3], env=env).returncode == 0
    write_sidecar(paths[3], "0" * 32)            # its copy will never match: not verified
    configure(env, "prune:\n  keep_last: 1\n")
    result = run("rex-upload", "--prune-remote", "--sync", root, "--json", env=env)
    assert result.returncode == 65, result.err
    actions = {json.loads(line)["path"].rsplit("/", 1)[1]: json.loads(line)["action"]
               for line in result.stdout.decode().splitlines()}
    assert actions == {"Lib_20261101T120000Z.backup": "pruned", "Lib_20261102T120000Z.backup": "pruned",
                       "Lib_20261103T120000Z.backup": "already-there"}
    names = [f for f in served_files(env["SERVED"]) if not f.endswith(".md5")]
    assert names == ["pg/db/Lib_20261103T120000Z.backup", "pg/db/Lib_20261104T120000Z.backup"]


def test_nothing_there_yet_and_no_policy(run, env, remote):
    if remote.kind != "sftp":
        pytest.skip("once is enough")
    configure(env, "prune:\n  keep_last: 2\n")
    result = run("rex-upload", "--prune-remote", env=env)
    assert result.returncode == 0 and result.stdout == b"", result.err
    with open(env["REX_CONFIG"], "w") as f:
        f.write(f"upload:\n  remote: {env['TARGET']}\n  rclone_config: {remote.conf}\n")
    result = run("rex-upload", "--prune-remote", env=env)
    assert result.returncode == 64 and "no retention policy" in result.err, result.err
    configure(env, "  policies:\n    - match: '*.drp'\n      keep_last: 1\n")
    put(env["REX_BACKUP_ROOT"], "a/L_20260101T000000Z.backup", b"x")
    result = run("rex-upload", "--prune-remote", "--sync", env["REX_BACKUP_ROOT"], env=env)
    assert result.returncode == 1 and "no retention policy matches" in result.err, result.err   # as rex-prune
    assert served_files(env["SERVED"]) == ["a/L_20260101T000000Z.backup", "a/L_20260101T000000Z.backup.md5"]


def test_remote_down_is_75(run, rex_env, tmp_path):
    os.makedirs(rex_env["REX_BACKUP_ROOT"])
    down = Remote("webdav", tmp_path / "down")
    down._write_conf()          # a remote nobody serves
    config = tmp_path / "down.yaml"
    config.write_text(f"upload:\n  rclone_config: {down.conf}\n  keep_last: 3\n")
    result = run("rex-upload", "-r", "wd:x", "--prune-remote", env=dict(rex_env, REX_CONFIG=str(config)))
    assert result.returncode == 75, result.err
    assert "connection refused" in result.err and result.out == ""
    result = run("rex-upload", "-r", "wd:x", "--prune-remote",
                 env=dict(rex_env, REX_CONFIG=str(config), PATH=os.path.dirname(sys.executable)))
    assert result.returncode == 69, result.err


def test_a_deletion_that_fails_is_named(run, env, tmp_path, remote):
    """An rclone that leaves one object alone (as a refusing remote would): named, exit 1,
    and its sidecar stays with it."""
    if remote.kind != "sftp":
        pytest.skip("once is enough")
    root = env["REX_BACKUP_ROOT"]
    for stamp in DAYS[:3]:
        put(root, f"a/L_{stamp}.backup", os.urandom(100))
    assert run("rex-upload", "--sync", root, env=env).returncode == 0
    wrapper = tmp_path / "rclone"
    wrapper.write_text(
        "#!/bin/sh\n"
        "if [ \"$1\" = delete ]; then sed -i '/L_20261101/d' \"$3\"; fi\n"
        "exec rclone \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    configure(env, f"  rclone: {wrapper}\nprune:\n  keep_last: 1\n")
    result = run("rex-upload", "--prune-remote", env=env)
    assert result.returncode == 1, result.err
    assert "L_20261101T120000Z.backup: could not be deleted" in result.err
    assert served_files(env["SERVED"]) == ["a/L_20261101T120000Z.backup", "a/L_20261101T120000Z.backup.md5",
                                           "a/L_20261103T120000Z.backup", "a/L_20261103T120000Z.backup.md5"]
