"""rex-upload against real rclone remotes started on loopback: sftp (md5 on the remote)
and webdav (no hashes: the download check). Pipelines from stdin, --sync, filters,
dedupe links stored once, a corrupted remote copy, a remote that is down, rclone
missing, bad remotes, an interrupted upload resumed, hostile names, dry runs."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rclone_remote import Remote, put
from rex.checksum import md5_file

BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bin")


@pytest.fixture(scope="module", params=["sftp", "webdav"])
def remote(request, tmp_path_factory):
    server = Remote(request.param, tmp_path_factory.mktemp(request.param)).start()
    yield server
    server.stop()


@pytest.fixture
def env(rex_env, tmp_path):
    os.makedirs(rex_env["REX_BACKUP_ROOT"])
    config = tmp_path / "rex.yaml"
    config.write_text("upload:\n  transfers: 4\n")
    return dict(rex_env, REX_CONFIG=str(config))


@pytest.fixture
def target(remote, request, env):
    """A fresh remote path per test on each remote, and the served directory that holds it."""
    # rclone gets no HOME of its own, as under systemd: its config file is named explicitly.
    with open(env["REX_CONFIG"], "a") as f:
        f.write(f"  rclone_config: {remote.conf}\n")
    name = "t-" + request.node.name.replace("[", "-").replace("]", "")
    return f"{remote.name}:{name}", remote.path(name)


def lines(text):
    return text.splitlines()


def test_uploads_from_a_pipeline_and_verifies(run, env, target):
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    paths = [put(root, f"pg/db_5432/Lib_2026010{i}T000000Z.sql", os.urandom(20000 + i)) for i in range(1, 5)]
    with open(paths[3], "ab") as f:
        f.write(b"damaged")                     # rex-verify drops it: it is never sent
    verified = run("rex-verify", *paths, env=env)
    assert verified.returncode == 65, verified.err
    paths = paths[:3]
    result = run("rex-upload", "--remote", remote, "--json", env=env, input=verified.stdout)
    assert result.returncode == 0, result.err
    records = [json.loads(line) for line in lines(result.out)]
    assert [r["local"] for r in records] == paths
    assert all(r["action"] == "uploaded" for r in records)
    for path, r in zip(paths, records):
        rel = os.path.relpath(path, root)
        assert r["path"] == f"{remote}/{rel}"
        assert md5_file(os.path.join(served, rel)) == md5_file(path)
        assert os.path.exists(os.path.join(served, rel + ".md5"))
    assert not os.path.exists(os.path.join(served, "pg", "db_5432", "Lib_20260104T000000Z.sql"))
    again = run("rex-upload", "--remote", remote, "--json", *paths, env=env)
    assert again.returncode == 0, again.err
    assert {json.loads(line)["action"] for line in lines(again.out)} == {"already-there"}


def test_sync_a_tree_with_filters_from_config(run, env, target, tmp_path):
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    put(root, "pg/s_5432/Lib_20260101T000000Z.backup", b"db")
    put(root, "projects/Job 1/Edit_20260101T000000Z.drp", b"job1")
    put(root, "projects/Old Job/Edit_20260101T000000Z.drp", b"old")
    with open(os.path.join(root, "projects", "notes.txt"), "w") as f:
        f.write("not a backup")
    config = tmp_path / "rex.yaml"
    config.write_text(config.read_text() + f"  remote: {remote}\n  include: ['*.backup', 'projects/Job 1/*']\n")
    result = run("rex-upload", "--sync", root, env=env)
    assert result.returncode == 0, result.err
    assert sorted(lines(result.out)) == [f"{remote}/pg/s_5432/Lib_20260101T000000Z.backup",
                                         f"{remote}/projects/Job 1/Edit_20260101T000000Z.drp"]
    assert not os.path.exists(os.path.join(served, "projects", "Old Job"))
    assert not os.path.exists(os.path.join(served, "projects", "notes.txt"))
    result = run("rex-upload", "--sync", root, "--exclude", "*.backup", "--include", "*.drp", env=env)
    assert result.returncode == 0, result.err
    assert len(lines(result.out)) == 2 and all(p.endswith(".drp") for p in lines(result.out))


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_dedupe_links_are_uploaded_once(run, env, target, how, tmp_path, remote):
    conf = remote.conf
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    d = os.path.join(root, "projects", "Job")
    content = os.urandom(50000)
    put(root, "projects/Job/P_20260101T000000Z.sql", content)
    second = put(root, "projects/Job/P_20260102T000000Z.sql", content)
    with open(env["REX_CONFIG"], "a") as f:
        f.write(f"dedupe:\n  link: {how}\n")
    deduped = run("rex-dedupe", second, env=env)
    assert deduped.returncode == 0, deduped.err
    assert os.path.islink(second) == (how == "symlink")
    assert os.stat(second).st_nlink == (1 if how == "symlink" else 2)
    # Only the link is given: its target comes along so the remote link never dangles.
    result = run("rex-upload", "-r", remote, "--json", second, env=env)
    assert result.returncode == 0, result.err
    (record,) = [json.loads(line) for line in lines(result.out)]
    assert record["action"] == "linked" and record["kind"] == "link"
    stored = os.listdir(os.path.join(served, "projects", "Job"))
    assert sorted(stored) == ["P_20260101T000000Z.sql", "P_20260101T000000Z.sql.md5",
                              "P_20260102T000000Z.sql.md5", "P_20260102T000000Z.sql.rclonelink"]
    with open(os.path.join(served, "projects", "Job", "P_20260102T000000Z.sql.rclonelink")) as f:
        assert f.read() == "P_20260101T000000Z.sql"
    # Both given: the bytes still go once; rclone copy -l brings the link back.
    result = run("rex-upload", "-r", remote, "--json", "--sync", d, env=env)
    assert result.returncode == 0, result.err
    assert sorted(json.loads(line)["action"] for line in lines(result.out)) == ["already-there", "linked"]
    back = tmp_path / "back"
    subprocess.run(["rclone", "copy", "-l", f"{remote}/projects/Job", str(back)], check=True,
                   env=dict(os.environ, RCLONE_CONFIG=conf))
    assert os.readlink(back / "P_20260102T000000Z.sql") == "P_20260101T000000Z.sql"
    assert md5_file(str(back / "P_20260102T000000Z.sql")) == md5_file(second)


def test_corrupted_remote_copy_is_detected(run, env, target):
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    path = put(root, "pg/s/Lib_20260101T000000Z.backup", os.urandom(40000))
    good = put(root, "pg/s/Lib_20260102T000000Z.backup", os.urandom(40000))
    assert run("rex-upload", "-r", remote, path, good, env=env).returncode == 0
    copy = os.path.join(served, "pg", "s", "Lib_20260101T000000Z.backup")
    with open(copy, "r+b") as f:
        f.seek(1234)
        byte = f.read(1)
        f.seek(1234)
        f.write(bytes([byte[0] ^ 0xFF]))
    result = run("rex-upload", "-r", remote, "--check", path, good, env=env)
    assert result.returncode == 65, result.err
    assert "Lib_20260101T000000Z.backup" in result.err and "md5" in result.err
    assert lines(result.out) == [f"{remote}/pg/s/Lib_20260102T000000Z.backup"]
    os.unlink(copy)
    result = run("rex-upload", "-r", remote, "--check", path, env=env)
    assert result.returncode == 65 and "not on the remote" in result.err, result.err
    result = run("rex-upload", "-r", remote, path, env=env)          # the next upload repairs it
    assert result.returncode == 0, result.err


def test_download_check_off_checks_sizes_only(run, env, target, remote):
    if remote.kind != "webdav":
        pytest.skip("a remote without md5")
    name, served = target
    path = put(env["REX_BACKUP_ROOT"], "a/L_20260101T000000Z.backup", b"abcdef")
    assert run("rex-upload", "-r", name, path, env=env).returncode == 0
    with open(os.path.join(served, "a", "L_20260101T000000Z.backup"), "wb") as f:
        f.write(b"abcdeX")
    result = run("rex-upload", "-r", name, "--check", "--no-download-check", path, env=env)
    assert result.returncode == 0 and "only sizes" in result.err
    assert run("rex-upload", "-r", name, "--check", path, env=env).returncode == 65


def test_hostile_names(run, env, target):
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    names = ["sp ace/Ünïcødé Lib_20260101T000000Z.backup", "-dash/-lead_20260101T000000Z.drp",
             "#hash/ lead space_20260101T000000Z.drp", "q/it's \"quoted\" $HOME_20260101T000000Z.drp"]
    paths = [put(root, n, n.encode()) for n in names]
    newline = put(root, "nl/new\nline_20260101T000000Z.drp", b"nl")
    result = run("rex-upload", "-r", remote, "-0", input="\0".join(paths + [newline]) + "\0", env=env)
    assert result.returncode == 1, result.err
    assert "line break" in result.err
    assert sorted(result.out.split("\0")[:-1]) == sorted(f"{remote}/{n}" for n in names)
    for n in names:
        assert open(os.path.join(served, n), "rb").read() == n.encode()


def test_outside_root_missing_and_no_sidecar(run, env, target, tmp_path):
    remote, _ = target
    root = env["REX_BACKUP_ROOT"]
    ok = put(root, "x/L_20260101T000000Z.backup", b"ok")
    outside = put(str(tmp_path / "elsewhere"), "L_20260101T000000Z.backup", b"out")
    bare = os.path.join(root, "x", "B_20260101T000000Z.backup")
    with open(bare, "wb") as f:
        f.write(b"no sidecar")
    result = run("rex-upload", "-r", remote, ok, outside, env=env)
    assert result.returncode == 1 and "outside the backup root" in result.err
    assert lines(result.out) == [f"{remote}/x/L_20260101T000000Z.backup"]
    result = run("rex-upload", "-r", remote, ok, bare, env=env)
    assert result.returncode == 65 and "no sidecar" in result.err
    result = run("rex-upload", "-r", remote, str(tmp_path / "nope"), env=env)
    assert result.returncode == 66


def test_dry_run_changes_nothing(run, env, target):
    remote, served = target
    path = put(env["REX_BACKUP_ROOT"], "a/L_20260101T000000Z.backup", b"x")
    result = run("rex-upload", "-n", "-r", remote, path, env=dict(env, PATH="/nonexistent"))
    assert result.returncode == 0, result.err
    assert lines(result.out) == [f"{remote}/a/L_20260101T000000Z.backup"]
    assert not os.path.exists(served)
    # The scheduled jobs name the remote in the environment (REX_UPLOAD_REMOTE).
    from_env = run("rex-upload", "-n", path, env=dict(env, PATH="/nonexistent", REX_UPLOAD_REMOTE="other:x"))
    assert from_env.returncode == 0, from_env.err
    assert lines(from_env.out) == ["other:x/a/L_20260101T000000Z.backup"]


def test_interrupted_upload_is_resumed(run, env, target):
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    big = put(root, "big/Lib_20260101T000000Z.backup", os.urandom(8 * 1024 * 1024))
    proc = subprocess.Popen([sys.executable, os.path.join(BIN, "rex-upload"), "-r", remote, "--bwlimit", "1M", big],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    copy = os.path.join(served, "big", "Lib_20260101T000000Z.backup")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _partial(served):
        time.sleep(0.1)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)        # rex-upload and its rclone, mid-transfer
    out, _err = proc.communicate()
    assert out == b""
    assert not os.path.exists(copy) or os.path.getsize(copy) < os.path.getsize(big)
    check = run("rex-upload", "-r", remote, "--check", big, env=env)
    assert check.returncode == 65, check.err          # a partial copy never counts
    result = run("rex-upload", "-r", remote, big, env=env)
    assert result.returncode == 0, result.err
    assert lines(result.out) == [f"{remote}/big/Lib_20260101T000000Z.backup"]
    assert md5_file(copy) == md5_file(big)


def _partial(served):
    for top, _dirs, files in os.walk(served):
        if any(os.path.getsize(os.path.join(top, f)) > 0 for f in files if not f.endswith(".md5")):
            return True
    return False


def test_remote_down_is_75(run, env, tmp_path):
    path = put(env["REX_BACKUP_ROOT"], "a/L_20260101T000000Z.backup", b"x")
    down = Remote("webdav", tmp_path / "down")
    down._write_conf()          # a remote nobody serves
    config = tmp_path / "down.yaml"
    config.write_text(f"upload:\n  rclone_config: {down.conf}\n")
    result = run("rex-upload", "-r", "wd:x", path, env=dict(env, REX_CONFIG=str(config)))
    assert result.returncode == 75, result.err
    assert "connection refused" in result.err
    assert result.out == ""


def test_refused_credentials_are_77(run, env, tmp_path):
    path = put(env["REX_BACKUP_ROOT"], "a/L_20260101T000000Z.backup", b"x")
    server = Remote("sftp", tmp_path / "auth", password="right").start()
    try:
        server.client_password = "wrong"
        server._write_conf()
        config = tmp_path / "auth.yaml"
        config.write_text(f"upload:\n  rclone_config: {server.conf}\n")
        result = run("rex-upload", "-r", "sf:x", path, env=dict(env, REX_CONFIG=str(config)))
    finally:
        server.stop()
    assert result.returncode == 77, result.err
    assert "wrong" not in result.err and result.out == ""


def test_rclone_missing_is_69(run, env, target, tmp_path):
    remote, _ = target
    path = put(env["REX_BACKUP_ROOT"], "a/L_20260101T000000Z.backup", b"x")
    result = run("rex-upload", "-r", remote, path, env=dict(env, PATH=os.path.dirname(sys.executable)))
    assert result.returncode == 69, result.err
    assert "rclone" in result.err
    config = tmp_path / "rex.yaml"
    config.write_text(config.read_text() + "  rclone: /nonexistent/rclone\n")
    result = run("rex-upload", "-r", remote, path, env=env)
    assert result.returncode == 69, result.err


def test_bad_remotes(run, env, tmp_path):
    path = put(env["REX_BACKUP_ROOT"], "a/L_20260101T000000Z.backup", b"x")
    for bad in ("no-colon", "-x:path", ":sftp,pass=hunter2:dir", ""):
        result = run("rex-upload", "--remote", bad, path, env=env)
        assert result.returncode == 64, (bad, result.err)
        assert "hunter2" not in result.err or "credentials" in result.err
    assert run("rex-upload", path, env=env).returncode == 64          # no remote at all
    config = tmp_path / "rex.yaml"
    config.write_text(config.read_text() + "  remote: just-a-path\n")
    result = run("rex-upload", path, env=env)
    assert result.returncode == 78 and "upload.remote" in result.err
    result = run("rex-upload", "-r", "nosuchremote:x", path, env=env)
    assert result.returncode == 78, result.err
