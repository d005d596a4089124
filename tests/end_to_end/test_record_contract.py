"""The record contract under hostile input and output, through every command that reads or
writes records: malformed records, names a line cannot hold, operands that look like
options, a reader of stdout that went away, and what error messages quote."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import BIN, dump_once
from rex.checksum import md5_file, write_sidecar

MALFORMED = ['{"nopath":1}', '{"path":5}', '{"path":null}', '{not json']


def backup(directory, name, content=None):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(str(directory), name)
    with open(path, "wb") as f:
        f.write(content if content is not None else name.encode())
    write_sidecar(path, md5_file(path))
    return path


def closed_stdout(name, *args, env, input=None, cwd=None):
    """Run a command whose stdout is a pipe nobody reads any more (`| head -1` once head
    has its line), so that its first record meets EPIPE, every time."""
    r, w = os.pipe()
    os.close(r)
    try:
        return subprocess.run([sys.executable, os.path.join(BIN, name), *map(str, args)], env=env, stdout=w,
                              stderr=subprocess.PIPE, input=input, timeout=300, cwd=cwd,
                              stdin=None if input is not None else subprocess.DEVNULL)
    finally:
        os.close(w)


@pytest.fixture(scope="module")
def films_dump(tmp_path_factory, pg_cluster):
    """One rex-pgdump dump of the session cluster's sample library."""
    return dump_once(pg_cluster, "Resolve Projects", tmp_path_factory.mktemp("contract"))


def dashed_copy(dump, directory):
    """The dump under a name that starts with `-`, with its sidecar."""
    target = os.path.join(str(directory), "-x_20260101T000000Z.backup")
    shutil.copyfile(dump, target)
    write_sidecar(target, md5_file(target))
    return target


# --- names a line cannot hold ------------------------------------------------------------

def test_verify_fails_a_name_with_a_newline_alone_and_goes_on(run, rex_env, tmp_path):
    first = backup(tmp_path, "a_20260101T000000Z.sql")
    odd = backup(tmp_path, "new\nline_20260101T000000Z.sql")
    last = backup(tmp_path, "z_20260101T000000Z.sql")
    result = run("rex-verify", "-j", "1", "--", first, odd, last, env=rex_env)
    assert result.out.splitlines() == [first, last]
    assert result.returncode == 1, result.err
    assert "new\\nline_20260101T000000Z.sql: cannot be written as a line" in result.err
    # -0 carries it
    nul = run("rex-verify", "-0", "--", first, odd, last, env=rex_env)
    assert nul.returncode == 0 and nul.out.split("\0")[:-1] == [first, odd, last]


def test_dedupe_passes_on_the_others_when_one_name_holds_a_newline(run, rex_env, tmp_path):
    names = [backup(tmp_path / "set", f"{stem}_2026010{i}T000000Z.sql", b"same")
             for i, stem in ((1, "a"), (2, "b\nc"), (3, "d"))]
    result = run("rex-dedupe", "--", *names, env=rex_env)
    assert result.out.splitlines() == [names[0], names[2]]
    assert result.returncode == 1, result.err
    assert "b\\nc_20260102T000000Z.sql: cannot be written as a line" in result.err


# --- malformed records ---------------------------------------------------------------------

def _assert_named_and_rest_handled(result, good_out):
    assert result.returncode == 65, result.err
    for n, line in enumerate(MALFORMED, 1):
        assert f"input record {n}: malformed JSON record" in result.err and line in result.err
    assert "internal error" not in result.err and "Traceback" not in result.err
    assert good_out(result.out), result.out


def test_verify_names_malformed_records_and_verifies_the_rest(run, rex_env, tmp_path):
    good = backup(tmp_path, "g_20260101T000000Z.sql")
    text = "\n".join([*MALFORMED, good, '{"path": %s, "extra": 1}' % json.dumps(good)]) + "\n"
    result = run("rex-verify", env=rex_env, input=text)
    _assert_named_and_rest_handled(result, lambda out: out.splitlines() == [good, good])


def test_dedupe_and_prune_name_malformed_records_and_handle_the_rest(run, rex_env, tmp_path):
    paths = [backup(tmp_path / "set", f"s_2026010{i}T000000Z.sql", b"same") for i in range(1, 4)]
    text = "\n".join([*MALFORMED, *paths]) + "\n"
    deduped = run("rex-dedupe", env=rex_env, input=text)
    _assert_named_and_rest_handled(deduped, lambda out: out.splitlines() == paths)
    assert run("rex-verify", *paths, env=rex_env).returncode == 0
    pruned = run("rex-prune", "--keep-last", "1", env=rex_env, input=text)
    _assert_named_and_rest_handled(pruned, lambda out: out.splitlines() == paths[:2][::-1]
                                   or sorted(out.splitlines()) == paths[:2])
    assert not os.path.exists(paths[0]) and os.path.exists(paths[2])


def local_remote(rex_env, tmp_path):
    """An environment whose rclone config has a local remote `loc`, and its directory."""
    conf = tmp_path / "rclone.conf"
    conf.write_text("[loc]\ntype = local\n")
    (tmp_path / "rex.yaml").write_text(f"upload:\n  rclone_config: {conf}\n")
    return dict(rex_env, REX_CONFIG=str(tmp_path / "rex.yaml")), tmp_path / "remote"


def test_upload_names_malformed_records_and_uploads_the_rest(run, rex_env, tmp_path):
    root = rex_env["REX_BACKUP_ROOT"]
    good = backup(os.path.join(root, "pg", "db_5432"), "Lib_20260101T000000Z.sql")
    env, remote_dir = local_remote(rex_env, tmp_path)
    text = "\n".join([*MALFORMED, good]) + "\n"
    result = run("rex-upload", "--remote", f"loc:{remote_dir}", env=env, input=text)
    _assert_named_and_rest_handled(result, lambda out: len(out.splitlines()) == 1)
    assert md5_file(str(remote_dir / "pg" / "db_5432" / "Lib_20260101T000000Z.sql")) == md5_file(good)


def test_restore_lists_projects_of_the_good_records(run, pg_env, films_dump):
    text = "\n".join([*MALFORMED, films_dump]) + "\n"
    result = run("rex-restore", "--list-projects", env=pg_env, input=text)
    _assert_named_and_rest_handled(result, lambda out: "Project 1" in out.splitlines())


def test_error_messages_quote_a_record_short_and_escaped(run, rex_env, tmp_path):
    good = backup(tmp_path, "g_20260101T000000Z.sql")
    garbage = bytes(range(1, 256)).replace(b"\n", b"") * 4000         # ~1 MB, every byte value
    text = b"{" + b"x" * 1_000_000 + b"\n" + garbage + b"\n\x1b[2J\x07evil\n" + good.encode() + b"\n"
    result = run("rex-verify", env=rex_env, input=text)
    assert result.returncode == 65
    assert result.out.splitlines() == [good]
    assert len(result.stderr) < 2000, len(result.stderr)
    assert b"\x1b" not in result.stderr and b"\x07" not in result.stderr
    assert "\\x1b[2J\\x07evil: " in result.err
    assert result.stderr.count(b"\n") == 3


# --- operands that look like options --------------------------------------------------------

@pytest.mark.slow
def test_verify_a_dump_named_like_an_option(run, pg_env, films_dump, tmp_path):
    dashed = dashed_copy(films_dump, tmp_path)
    for deep in ([], ["--deep"]):
        result = run("rex-verify", *deep, "--", "-x_20260101T000000Z.backup", env=pg_env, cwd=tmp_path)
        assert result.returncode == 0, result.err
        assert result.out == "-x_20260101T000000Z.backup\n"
    assert os.path.exists(dashed)


@pytest.mark.slow
def test_restore_a_dump_named_like_an_option(run, pg_env, pg_cluster, films_dump, tmp_path):
    dashed_copy(films_dump, tmp_path)
    listed = run("rex-restore", "--list-projects", "--", "-x_20260101T000000Z.backup", env=pg_env, cwd=tmp_path)
    assert listed.returncode == 0, listed.err
    assert "Project 1" in listed.out.splitlines()
    name = "Dashed restore"
    try:
        restored = run("rex-restore", "--as", name, "--", "-x_20260101T000000Z.backup", env=pg_env, cwd=tmp_path)
        assert restored.returncode == 0, restored.err
        assert restored.out == name + "\n"
    finally:
        run("rex-restore", "--drop", name, env=pg_env)
    assert name not in pg_cluster.psql("SELECT datname FROM pg_database").splitlines()


@pytest.mark.slow
def test_proxy_encode_a_source_named_like_an_option(run, rex_env, tmp_path):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1",
                    "-c:v", "mpeg4", "./-clip.mov"], cwd=tmp_path, check=True, stdin=subprocess.DEVNULL)
    result = run("proxy-encode", "-j", "1", "--", "-clip.mov", env=rex_env, cwd=tmp_path)
    assert result.returncode == 0, result.err
    assert result.out == f"-clip.mov\t{tmp_path}/Proxy/-clip.mov\n"
    assert os.path.getsize(tmp_path / "Proxy" / "-clip.mov") > 0


# --- a reader that went away ----------------------------------------------------------------

def test_prune_into_a_closed_pipe_ends_quietly(rex_env, tmp_path):
    paths = [backup(tmp_path / "set", f"s_202601{d:02d}T000000Z.sql") for d in range(1, 31)]
    assert subprocess.run([sys.executable, os.path.join(BIN, "rex-verify"), *paths], env=rex_env,
                          capture_output=True).returncode == 0
    result = closed_stdout("rex-prune", "--keep-last", "1", tmp_path / "set", env=rex_env)
    assert result.stderr == b"" and result.returncode == 141
    assert os.path.exists(paths[-1])


@pytest.mark.parametrize("args", [["rex-config", "show"], ["rex-config", "--json", "show"],
                                  ["rex-config", "generate", "-"]])
def test_rex_config_into_a_closed_pipe_ends_quietly(rex_env, args):
    result = closed_stdout(*args, env=rex_env)
    assert result.stderr == b"" and result.returncode == 141


def test_rex_config_show_writes_its_records_as_every_command_does(rex_env, tmp_path):
    """A name that is not UTF-8 goes out as its bytes (under a strict UTF-8 stdout too), -0
    ends each key's record with NUL, --json -0 each JSON object."""
    from conftest import run_cmd

    env = dict(rex_env, PYTHONIOENCODING="utf-8")        # what a UTF-8 locale such as en_US.UTF-8 gives
    env_bytes = {k.encode(): v.encode() for k, v in env.items()}
    env_bytes[b"REX_BACKUP_ROOT"] = os.fsencode(str(tmp_path)) + b"/caf\xe9"
    result = subprocess.run([sys.executable, os.path.join(BIN, "rex-config"), "show"], env=env_bytes,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[:2] == [b"backup_root", os.fsencode(str(tmp_path)) + b"/caf\xe9"]
    keys = len(result.stdout.splitlines())
    null = run_cmd("rex-config", "-0", "show", env=env)
    assert null.returncode == 0 and null.stdout.endswith(b"\0") and b"\n" not in null.stdout
    assert len(null.stdout.split(b"\0")[:-1]) == keys
    both = run_cmd("rex-config", "--json", "-0", "show", env=env)
    assert [json.loads(r)["key"] for r in both.stdout.split(b"\0")[:-1]][:2] == ["backup_root", "proxy_root"]


def test_filters_into_a_closed_pipe_end_quietly(rex_env, tmp_path):
    paths = [backup(tmp_path / "set", f"s_2026010{i}T000000Z.sql", b"same") for i in range(1, 5)]
    for args in (["rex-verify", *paths], ["rex-verify", "-r", tmp_path], ["rex-dedupe", *paths]):
        result = closed_stdout(*args, env=rex_env)
        assert result.stderr == b"" and result.returncode == 141, args


def test_upload_into_a_closed_pipe_ends_quietly(rex_env, tmp_path):
    root = rex_env["REX_BACKUP_ROOT"]
    for i in (1, 2, 3):
        backup(os.path.join(root, "pg", "db_5432"), f"Lib_2026010{i}T000000Z.sql")
    env, remote_dir = local_remote(rex_env, tmp_path)
    result = closed_stdout("rex-upload", "--remote", f"loc:{remote_dir}", "--sync", root, env=env)
    assert result.stderr == b"" and result.returncode == 141


def test_pg_commands_into_a_closed_pipe_end_quietly(pg_env, films_dump):
    for args in (["rex-pgdump", "--all"], ["rex-restore", "--list-projects", films_dump]):
        result = closed_stdout(*args, env=pg_env)
        assert result.stderr == b"" and result.returncode == 141, (args, result.stderr)


def test_proxy_encode_into_a_closed_pipe_ends_quietly(rex_env, tmp_path):
    for name in ("a.mov", "b.mov"):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=1",
                        "-c:v", "mpeg4", name], cwd=tmp_path, check=True, stdin=subprocess.DEVNULL)
    result = closed_stdout("proxy-encode", "-j", "1", "a.mov", "b.mov", env=rex_env, cwd=tmp_path)
    assert result.stderr == b"" and result.returncode == 141


# --- a path named once -------------------------------------------------------------------------

def test_errors_name_the_path_once(run, rex_env, tmp_path):
    bad_dump = backup(tmp_path, "g_20260101T000000Z.backup", b"not a dump")
    bad_drp = backup(tmp_path, "j_20260101T000000Z.drp", b"PK not a zip")
    result = run("rex-verify", "-j", "1", bad_dump, bad_drp, env=rex_env)
    assert result.returncode == 65
    lines = result.err.splitlines()
    assert len(lines) == 2
    for path, line in zip((bad_dump, bad_drp), lines):
        assert line.startswith(f"rex-verify: error: {path}: not a") and line.count(path) == 1, line
    restore = run("rex-restore", "--as", "Never", bad_dump, env=rex_env)
    assert restore.returncode == 65
    assert restore.err.startswith(f"rex-restore: error: {bad_dump}: not a readable")
    assert restore.err.count(bad_dump) == 1, restore.err
