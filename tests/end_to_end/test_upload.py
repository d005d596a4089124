"""rex-upload against real rclone remotes started on loopback: sftp (md5 on the remote)
and webdav (no hashes: the download check). Pipelines from stdin, --sync, filters,
dedupe links stored once, damaged remote copies repaired (never from a bad local one), a remote that is down, rclone
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


def flip(path, at=1234):
    """Damage `path` in place as a failing disk does: one byte flipped, size and time kept."""
    st = os.stat(path)
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def damage(copy, how):
    if how == "flipped":
        flip(copy)
    elif how == "truncated":
        with open(copy, "r+b") as f:
            f.truncate(1000)
    else:
        os.unlink(copy)


def ledger_row(env, remote, rel):
    """(size, md5, verified-at) of the upload ledger's row for `rel`, or None."""
    import sqlite3

    db = sqlite3.connect(os.path.join(env["XDG_STATE_HOME"], "rex", "upload.sqlite"))
    try:
        return db.execute("SELECT size, md5, verified FROM remote_verified WHERE remote = ? AND rel = ?",
                          (remote, rel)).fetchone()
    finally:
        db.close()


# --check, or the nightly run once the recheck window is over (here: --recheck-after 0)
MODES = {"check": ["--check"], "recheck": ["--recheck-after", "0"]}


def uploaded_then_damaged(run, env, target, how):
    """Two backups uploaded, then the remote copy of the first damaged `how`: (remote, root,
    its relative path, the other's, its local path, its remote copy)."""
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    rel, good = "pg/s/Lib_20260101T000000Z.backup", "pg/s/Lib_20260102T000000Z.backup"
    path = put(root, rel, os.urandom(40000))
    put(root, good, os.urandom(40000))
    assert run("rex-upload", "-r", remote, "--sync", root, env=env).returncode == 0
    copy = os.path.join(served, rel)
    damage(copy, how)
    return remote, root, rel, good, path, copy


@pytest.mark.slow
@pytest.mark.parametrize("how", ["flipped", "truncated", "missing"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_damaged_remote_copy_is_repaired(run, env, target, how, mode):
    remote, root, bad, good, path, copy = uploaded_then_damaged(run, env, target, how)
    started = time.time()
    result = run("rex-upload", "-r", remote, "--sync", root, "--json", *MODES[mode], env=env)
    assert result.returncode == 0, result.err
    records = {json.loads(line)["path"]: json.loads(line) for line in lines(result.out)}
    assert records[f"{remote}/{bad}"]["action"] == "repaired"
    assert records[f"{remote}/{bad}"]["checked"] == "md5"
    assert records[f"{remote}/{good}"]["action"] == ("verified" if mode == "check" else "already-there")
    assert f"{remote}/{bad}: " in result.err and "repaired" in result.err
    assert good not in result.err
    assert md5_file(copy) == md5_file(path)
    size, md5, verified = ledger_row(env, remote, bad)              # the repaired copy is proved
    assert (size, md5) == (40000, md5_file(path)) and verified >= started
    for again in (["--check"], []):                                 # and every later run is clean
        later = run("rex-upload", "-r", remote, "--sync", root, "--json", *again, env=env)
        assert later.returncode == 0 and later.err == "", later.err
        assert {json.loads(line)["action"] for line in lines(later.out)} == {"verified" if again else
                                                                            "already-there"}


@pytest.mark.slow
def test_check_sends_nothing_new(run, env, target):
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    sent = put(root, "pg/s/Lib_20260101T000000Z.backup", os.urandom(4000))
    assert run("rex-upload", "-r", remote, sent, env=env).returncode == 0
    never = put(root, "pg/s/Lib_20260102T000000Z.backup", os.urandom(4000))
    result = run("rex-upload", "-r", remote, "--check", "--sync", root, env=env)
    assert result.returncode == 65 and "not on the remote" in result.err, result.err
    assert f"{never}: " in result.err and "Lib_20260101" not in result.err
    assert lines(result.out) == [f"{remote}/pg/s/Lib_20260101T000000Z.backup"]
    assert not os.path.exists(os.path.join(served, "pg", "s", os.path.basename(never)))


@pytest.mark.slow
@pytest.mark.parametrize("how", ["flipped", "truncated", "missing"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_bad_local_copy_never_replaces_the_remote_one(run, env, target, how, mode):
    """The remote copy may be the last good one anywhere, or hold what can still be saved."""
    remote, root, rel, good, path, copy = uploaded_then_damaged(run, env, target, how)
    with open(path, "r+b") as f:                # the local copy goes bad too (and looks changed)
        f.seek(99)
        f.write(b"rot")
    before = open(copy, "rb").read() if os.path.exists(copy) else None
    result = run("rex-upload", "-r", remote, "--sync", root, *MODES[mode], env=env)
    assert result.returncode == 65, result.err
    assert (open(copy, "rb").read() if os.path.exists(copy) else None) == before
    (line,) = [line for line in lines(result.err) if "error:" in line]
    assert path in line and f"{remote}/{rel}" in line and "does not match its sidecar either" in line
    assert lines(result.out) == [f"{remote}/{good}"]
    assert ledger_row(env, remote, rel)[2] is None              # no longer trusted, still known
    again = run("rex-upload", "-r", remote, "--sync", root, env=env)    # and so on, every run
    assert again.returncode == 65 and "does not match its sidecar either" in again.err, again.err
    assert (open(copy, "rb").read() if os.path.exists(copy) else None) == before


@pytest.mark.slow
def test_download_check_off_checks_sizes_only(run, env, target, remote):
    if remote.kind != "webdav":
        pytest.skip("a remote without md5")
    name, served = target
    path = put(env["REX_BACKUP_ROOT"], "a/L_20260101T000000Z.backup", b"abcdef")
    assert run("rex-upload", "-r", name, path, env=env).returncode == 0
    copy = os.path.join(served, "a", "L_20260101T000000Z.backup")
    with open(copy, "wb") as f:
        f.write(b"abcdeX")
    result = run("rex-upload", "-r", name, "--check", "--no-download-check", path, env=env)
    assert result.returncode == 0 and "only sizes" in result.err
    assert open(copy, "rb").read() == b"abcdeX"
    result = run("rex-upload", "-r", name, "--check", "--json", path, env=env)
    assert result.returncode == 0 and json.loads(result.out)["action"] == "repaired", result.err
    assert open(copy, "rb").read() == b"abcdef"


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    result = run("rex-upload", "-r", remote, "--json", big, env=env)
    assert result.returncode == 0, result.err
    (record,) = [json.loads(line) for line in lines(result.out)]
    assert record["path"] == f"{remote}/big/Lib_20260101T000000Z.backup" and record["action"] == "uploaded"
    assert md5_file(copy) == md5_file(big)


def _partial(served):
    for top, _dirs, files in os.walk(served):
        if any(os.path.getsize(os.path.join(top, f)) > 0 for f in files if not f.endswith(".md5")):
            return True
    return False


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_bad_remotes(run, env, tmp_path):
    path = put(env["REX_BACKUP_ROOT"], "a/L_20260101T000000Z.backup", b"x")
    for bad in ("no-colon", "-x:path", ":sftp,pass=hunter2:dir", ""):
        result = run("rex-upload", "--remote", bad, path, env=env)
        assert result.returncode == 64, (bad, result.err)
        assert "hunter2" not in result.err
    assert run("rex-upload", path, env=env).returncode == 64          # no remote at all
    config = tmp_path / "rex.yaml"
    good = config.read_text()
    config.write_text(good + "  remote: just-a-path\n")
    result = run("rex-upload", path, env=env)
    assert result.returncode == 78 and "upload.remote" in result.err
    config.write_text(good)
    result = run("rex-upload", "-r", "nosuchremote:x", path, env=env)
    assert result.returncode == 78, result.err


# ------------------------------------------------------------------ the recheck window (upload ledger)

RCLONE_SPY = """#!{python}
import json, os, sys
argv = sys.argv[1:]
files = []
if "--files-from-raw" in argv:
    with open(argv[argv.index("--files-from-raw") + 1], encoding="utf-8", errors="surrogateescape") as f:
        files = f.read().splitlines()
with open({log!r}, "a") as f:
    f.write(json.dumps({{"argv": argv, "files": files}}) + "\\n")
if argv[:1] == ["copy"] and os.path.exists({nocopy!r}):
    sys.exit(0)             # rclone "succeeded" having copied nothing
os.execvp("rclone", ["rclone"] + argv)
"""


class Spy:
    """An rclone (upload.rclone) that logs each argv and the files it names, then runs the
    real one; `nocopy` makes `rclone copy` exit 0 doing nothing."""

    def __init__(self, tmp_path, config):
        self.log, self.flag = str(tmp_path / "rclone.log"), str(tmp_path / "nocopy")
        program = tmp_path / "rclone-spy"
        program.write_text(RCLONE_SPY.format(python=sys.executable, log=self.log, nocopy=self.flag))
        program.chmod(0o755)
        with open(config, "a") as f:
            f.write(f"  rclone: {program}\n")

    def runs(self):
        """The logged runs since the last call."""
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            runs = [json.loads(line) for line in f]
        os.unlink(self.log)
        return runs

    def read(self):
        """The objects whose bytes the remote hashed or sent back since the last call, and those
        only listed (sizes)."""
        runs = self.runs()
        hashed = {f for r in runs if "--hash" in r["argv"] or "--download" in r["argv"] for f in r["files"]}
        sized = {f for r in runs if r["argv"][0] == "lsjson" and "--hash" not in r["argv"] for f in r["files"]}
        return hashed, sized

    def nocopy(self, on=True):
        if on:
            open(self.flag, "w").close()
        elif os.path.exists(self.flag):
            os.unlink(self.flag)


def both(*rels):
    return {x for rel in rels for x in (rel, rel + ".md5")}


@pytest.fixture
def spy(env, tmp_path):
    return Spy(tmp_path, env["REX_CONFIG"])


@pytest.mark.slow
def test_second_run_within_the_window_lists_sizes_only(run, env, target, spy):
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    a, b = "s/A_20260101T000000Z.backup", "s/B_20260101T000000Z.backup"
    put(root, a, os.urandom(30000))
    put(root, b, os.urandom(30000))
    first = run("rex-upload", "-r", remote, "--sync", root, "--json", env=env)
    assert first.returncode == 0, first.err
    assert {json.loads(line)["checked"] for line in lines(first.out)} == {"md5"}
    assert spy.read()[0] == both(a, b)
    c = "s/C_20260101T000000Z.backup"
    put(root, c, os.urandom(30000))
    second = run("rex-upload", "-r", remote, "--sync", root, "--json", env=env)
    assert second.returncode == 0, second.err
    hashed, sized = spy.read()
    assert hashed == both(c) and sized == both(a, b)          # only the new backup is read back
    records = {json.loads(line)["path"]: json.loads(line) for line in lines(second.out)}
    assert records[f"{remote}/{c}"]["checked"] == "md5" and records[f"{remote}/{c}"]["action"] == "uploaded"
    assert records[f"{remote}/{a}"]["checked"] == "size" and records[f"{remote}/{a}"]["action"] == "already-there"
    assert records[f"{remote}/{a}"]["verified"].endswith("Z")
    # --check and --recheck-after 0 read everything back.
    for how in (["--check"], ["--recheck-after", "0"]):
        result = run("rex-upload", "-r", remote, "--sync", root, *how, env=env)
        assert result.returncode == 0, result.err
        assert spy.read() == (both(a, b, c), set()), how


@pytest.mark.slow
def test_deleted_or_truncated_copy_is_caught_within_the_window(run, env, target, spy):
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    paths = [put(root, f"s/L{i}_20260101T000000Z.backup", os.urandom(30000)) for i in range(3)]
    assert run("rex-upload", "-r", remote, *paths, env=env).returncode == 0
    spy.runs()
    os.unlink(os.path.join(served, "s", "L0_20260101T000000Z.backup"))
    with open(os.path.join(served, "s", "L1_20260101T000000Z.backup"), "r+b") as f:
        f.truncate(1000)
    spy.nocopy()                # rclone exits 0 and sends nothing: only the check can tell
    result = run("rex-upload", "-r", remote, *paths, env=env)
    assert result.returncode == 65, result.err
    assert "L0_20260101T000000Z.backup: not on the remote" in result.err
    assert "L1_20260101T000000Z.backup: 1000 bytes on the remote" in result.err
    assert lines(result.out) == [f"{remote}/s/L2_20260101T000000Z.backup"]
    # Caught by the listing of sizes; only what was sent again (not the sidecars) is read back.
    assert spy.read()[0] == {"s/L0_20260101T000000Z.backup", "s/L1_20260101T000000Z.backup"}
    spy.nocopy(False)
    result = run("rex-upload", "-r", remote, "--json", *paths, env=env)     # repaired, and read back
    assert result.returncode == 0, result.err
    assert [json.loads(line)["action"] for line in lines(result.out)] == ["repaired", "repaired", "already-there"]
    assert spy.read()[0] == {"s/L0_20260101T000000Z.backup", "s/L1_20260101T000000Z.backup"}   # not the sidecars


@pytest.mark.slow
def test_same_size_damage_is_seen_only_by_md5(run, env, target, spy):
    """The documented trade-off: within the window a copy damaged in place with its size kept
    passes; --check, --recheck-after 0 and the end of the window read it back."""
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    rels = [f"s/D{i}_20260101T000000Z.backup" for i in range(3)]
    paths = [put(root, rel, os.urandom(30000)) for rel in rels]
    assert run("rex-upload", "-r", remote, *paths, env=env).returncode == 0
    started = time.time()
    for rel in rels:
        with open(os.path.join(served, rel), "r+b") as f:
            f.seek(100)
            f.write(b"\0" * 8)
    spy.nocopy()
    assert run("rex-upload", "-r", remote, *paths, env=env).returncode == 0        # unseen: sizes match
    result = run("rex-upload", "-r", remote, "--check", paths[0], env=env)
    assert result.returncode == 65 and "md5" in result.err, result.err
    result = run("rex-upload", "-r", remote, "--recheck-after", "0", paths[1], env=env)
    assert result.returncode == 65 and "md5" in result.err, result.err
    assert run("rex-upload", "-r", remote, "--recheck-after", "1h", paths[2], env=env).returncode == 0
    time.sleep(max(0, 1.2 - (time.time() - started)))
    result = run("rex-upload", "-r", remote, "--recheck-after", "1s", paths[2], env=env)
    assert result.returncode == 65 and "md5" in result.err, result.err
    # A failed check ends the trust in a copy: the default window no longer trusts any of them.
    result = run("rex-upload", "-r", remote, *paths, env=env)
    assert result.returncode == 65 and result.err.count("does not match") == 3, result.err


@pytest.mark.slow
def test_a_changed_local_backup_gets_the_full_check(run, env, target, spy, remote):
    kind = remote.kind
    remote, served = target
    root = env["REX_BACKUP_ROOT"]
    rel = "s/E_20260101T000000Z.backup"
    path = put(root, rel, os.urandom(30000))
    assert run("rex-upload", "-r", remote, path, env=env).returncode == 0
    put(root, rel, os.urandom(30000))            # rewritten: new content, same size, new sidecar
    later = time.time() + 10                     # (rclone compares times to the second)
    for name in (path, path + ".md5"):
        os.utime(name, (later, later))
    spy.runs()
    spy.nocopy()
    result = run("rex-upload", "-r", remote, path, env=env)
    assert result.returncode == 65 and "md5" in result.err, result.err
    assert spy.read()[0] == both(rel)
    if kind == "webdav":
        return      # no modification times there: rclone does not resend a sidecar of the same size
    spy.nocopy(False)
    result = run("rex-upload", "-r", remote, "--json", path, env=env)
    assert result.returncode == 0, result.err
    assert json.loads(result.out)["action"] == "uploaded" and json.loads(result.out)["checked"] == "md5"
    assert md5_file(os.path.join(served, rel)) == md5_file(path)


@pytest.mark.slow
def test_the_ledger_is_shared_by_concurrent_runs(env, target, remote):
    name, _served = target
    root = env["REX_BACKUP_ROOT"]
    paths = [put(root, f"c/L{i}_20260101T000000Z.backup", os.urandom(2000)) for i in range(12)]
    for window in ("0", "30d", "0", "30d"):        # writes of every row, then reads
        procs = [subprocess.Popen([sys.executable, os.path.join(BIN, "rex-upload"), "-r", f"{name}-{side}",
                                   "--recheck-after", window, *paths], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for side in ("a", "b")]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()
            assert b"locked" not in err and len(out.splitlines()) == 12
