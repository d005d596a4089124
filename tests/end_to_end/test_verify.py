"""rex-verify on real dumps and on Resolve project files (the simulator's exports, and
the real Resolve exports where ../shared is)."""

import os
import shutil
import subprocess
import sys

import pytest

from drpfiles import samples, source, sources
from rex.checksum import md5_file, write_sidecar


@pytest.fixture
def dumps(run, pg_env):
    result = run("rex-pgdump", "--all", env=pg_env)
    assert result.returncode == 0, result.err
    return result.out.splitlines()


def test_good_dumps_pass_through(run, pg_env, dumps):
    result = run("rex-verify", "--report", env=pg_env, input="\n".join(dumps) + "\n")
    assert result.returncode == 0, result.err
    assert result.out.splitlines() == dumps
    assert all(f"{p}: OK" in result.err for p in dumps)


@pytest.mark.slow
def test_flipped_byte_is_65_and_not_passed_on(run, pg_env, dumps):
    bad = dumps[0]
    with open(bad, "r+b") as f:
        f.seek(os.path.getsize(bad) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x40]))
    result = run("rex-verify", "--report", *dumps, env=pg_env)
    assert result.returncode == 65
    assert result.out.splitlines() == dumps[1:]
    assert f"{bad}: FAILED" in result.err and "checksum mismatch" in result.err


def test_truncated_dump_with_matching_sidecar_is_caught(run, pg_env, dumps):
    bad = dumps[0]
    with open(bad, "r+b") as f:
        f.truncate(200)
    write_sidecar(bad, md5_file(bad))
    result = run("rex-verify", bad, env=pg_env)
    assert result.returncode == 65 and "not a readable custom-format dump" in result.err


@pytest.mark.slow
def test_missing_file_is_66_and_missing_sidecar_is_65(run, pg_env, dumps):
    result = run("rex-verify", dumps[0] + ".gone", env=pg_env)
    assert result.returncode == 66 and "no such file" in result.err
    os.unlink(dumps[1] + ".md5")
    result = run("rex-verify", dumps[1], env=pg_env)
    assert result.returncode == 65 and "no sidecar" in result.err


def test_recursive_walk_skips_temporaries(run, pg_env, dumps):
    root = pg_env["REX_BACKUP_ROOT"]
    open(os.path.join(os.path.dirname(dumps[0]), ".x.backup.rex-tmp-1-ab"), "w").close()
    result = run("rex-verify", "-r", root, env=pg_env)
    assert result.returncode == 0, result.err
    assert sorted(result.out.splitlines()) == sorted(dumps)


def test_json_records_and_null_separators(run, pg_env, dumps):
    records = "".join('{"path": "%s", "database": "x"}\n' % p for p in dumps)
    result = run("rex-verify", "--json", env=pg_env, input=records)
    assert result.returncode == 0, result.err
    import json

    rows = [json.loads(line) for line in result.out.splitlines()]
    assert [r["path"] for r in rows] == dumps and all(r["md5"] == md5_file(r["path"]) for r in rows)
    result = run("rex-verify", "-0", env=pg_env, input="\0".join(dumps) + "\0")
    assert result.out.split("\0")[:-1] == dumps


def test_older_than_skips_recent_and_rechecks_changed(run, pg_env, dumps):
    assert run("rex-verify", *dumps, env=pg_env).returncode == 0
    again = run("rex-verify", "-v", "--older-than", "1h", *dumps, env=pg_env)
    assert again.returncode == 0 and again.err.count("verified recently") == 2
    with open(dumps[0], "ab") as f:
        f.write(b"x")
    changed = run("rex-verify", "--older-than", "1h", *dumps, env=pg_env)
    assert changed.returncode == 65 and changed.out.splitlines() == dumps[1:]


@pytest.mark.slow
def test_deep_restores_and_leaves_no_database(run, pg_env, pg_cluster, dumps):
    before = pg_cluster.psql("SELECT count(*) FROM pg_database").strip()
    result = run("rex-verify", "-v", "--deep", "-h", "127.0.0.1", "-p", pg_cluster.port, *dumps, env=pg_env)
    assert result.returncode == 0, result.err
    assert "rows" in result.err and "large objects restored" in result.err
    assert pg_cluster.psql("SELECT count(*) FROM pg_database").strip() == before


@pytest.mark.slow
def test_deep_catches_damage_behind_a_matching_sidecar(run, pg_env, pg_cluster, dumps):
    bad = dumps[1]   # Resolve Projects
    size = os.path.getsize(bad)
    with open(bad, "r+b") as f:
        f.seek(int(size * 0.6))
        f.write(bytes(64))
    write_sidecar(bad, md5_file(bad))
    shallow = run("rex-verify", bad, env=pg_env)
    assert shallow.returncode == 0, "the table of contents still reads: only a restore can tell"
    before = pg_cluster.psql("SELECT count(*) FROM pg_database").strip()
    deep = run("rex-verify", "--deep", "-h", "127.0.0.1", "-p", pg_cluster.port, bad, env=pg_env)
    assert deep.returncode == 65, deep.err
    assert pg_cluster.psql("SELECT count(*) FROM pg_database").strip() == before


@pytest.mark.slow
def test_deep_without_server_uses_a_scratch_cluster(run, rex_env, pg_env, dumps):
    result = run("rex-verify", "-v", "--deep", dumps[0], env=rex_env)
    assert result.returncode == 0, result.err
    assert "scratch" in result.err


def middle_of_largest_member(path):
    """The offset of a byte in the middle of the largest member's compressed data."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        info = max(z.infolist(), key=lambda i: i.compress_size)
    with open(path, "rb") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
    return info.header_offset + 30 + name_len + extra_len + info.compress_size // 2


@pytest.mark.parametrize("fixture", sources())
def test_resolve_exports_verify_and_damage_is_caught(run, rex_env, tmp_path, fixture):
    fixture = source(fixture)
    copy = tmp_path / os.path.basename(fixture)
    shutil.copy(fixture, copy)
    write_sidecar(str(copy), md5_file(str(copy)))
    result = run("rex-verify", copy, env=rex_env)
    assert result.returncode == 0, result.err
    data = bytearray(copy.read_bytes())
    data[middle_of_largest_member(copy)] ^= 0xFF
    copy.write_bytes(bytes(data))
    write_sidecar(str(copy), md5_file(str(copy)))
    result = run("rex-verify", copy, env=rex_env)
    assert result.returncode == 65, (fixture, result.err)


def test_symlinked_backup_verifies_through_its_target(run, rex_env, tmp_path):
    real = tmp_path / "a_20260101T000000Z.drp"
    shutil.copy(samples()[0], real)
    write_sidecar(str(real), md5_file(str(real)))
    link = tmp_path / "a_20260102T000000Z.drp"
    os.symlink(real.name, link)
    write_sidecar(str(link), md5_file(str(real)))
    assert run("rex-verify", link, env=rex_env).returncode == 0
    real.unlink()
    dangling = run("rex-verify", link, env=rex_env)
    assert dangling.returncode == 65 and "dangling" in dangling.err


def test_parallel_output_keeps_input_order(run, rex_env, tmp_path):
    paths = []
    for i in range(12):
        p = tmp_path / f"f{i:02d}_20260101T0000{i:02d}Z.sql"
        p.write_bytes(os.urandom(200_000 * (12 - i)))
        write_sidecar(str(p), md5_file(str(p)))
        paths.append(str(p))
    result = run("rex-verify", "-j", "4", env=rex_env, input="\n".join(paths))
    assert result.returncode == 0 and result.out.splitlines() == paths


def test_broken_pipe_is_quiet(rex_env, tmp_path):
    paths = []
    for i in range(200):
        p = tmp_path / f"g{i}.sql"
        p.write_bytes(b"x")
        write_sidecar(str(p), md5_file(str(p)))
        paths.append(str(p))
    bin_ = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bin")
    script = f'"{sys.executable}" "{bin_}/rex-verify" "$@" | head -1'
    result = subprocess.run(["bash", "-c", script, "x", *paths], env=rex_env, capture_output=True, text=True)
    assert result.stdout == paths[0] + "\n"
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr


def test_results_stream_before_the_input_ends(rex_env, tmp_path):
    """A verified path is passed on at once, not when the next input line arrives."""
    p = tmp_path / "s_20260101T000000Z.sql"
    p.write_bytes(b"select 1;\n")
    write_sidecar(str(p), md5_file(str(p)))
    bin_ = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bin")
    proc = subprocess.Popen([sys.executable, os.path.join(bin_, "rex-verify"), "-j", "2"], env=rex_env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(str(p).encode() + b"\n")
        proc.stdin.flush()
        import select

        readable, _, _ = select.select([proc.stdout], [], [], 20)
        assert readable, "no output while stdin stays open"
        assert proc.stdout.readline().decode().strip() == str(p)
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_recursive_walk_names_what_is_no_backup_and_goes_on(run, rex_env, tmp_path):
    """Under a backup's name: a directory and a FIFO are named and skipped (a warning, the
    walk goes on; a FIFO was read forever), a link that loops is a lost backup (65)."""
    d = tmp_path / "db"
    d.mkdir()
    good = str(d / "lib_20260101T000000Z.sql")
    with open(good, "wb") as f:
        f.write(b"good")
    write_sidecar(good, md5_file(good))
    directory = d / "lib_20260102T000000Z.backup"
    directory.mkdir()
    fifo = d / "lib_20260103T000000Z.backup"
    os.mkfifo(fifo)
    result = run("rex-verify", "-r", d, env=rex_env, timeout=30)
    assert result.returncode == 0, result.err
    assert result.out.splitlines() == [good]
    assert f"{directory}: a directory under a backup's name; skipped" in result.err
    assert f"{fifo}: a FIFO under a backup's name; skipped" in result.err
    loop = d / "lib_20260104T000000Z.backup"
    os.symlink(loop.name, loop)
    result = run("rex-verify", "-r", d, env=rex_env, timeout=30)
    assert result.returncode == 65 and str(loop) in result.err
    assert result.out.splitlines() == [good]


def test_a_sidecar_made_by_md5sum_tag_is_accepted(run, rex_env, tmp_path):
    """rex-verify(1) takes what `md5sum -c` reads, BSD-style `MD5 (NAME) = HEX` included."""
    path = tmp_path / "notes (v2)_20260101T000000Z.sql"
    path.write_bytes(os.urandom(5000))
    tagged = subprocess.run(["md5sum", "--tag", path.name], cwd=tmp_path, stdout=subprocess.PIPE, check=True)
    (tmp_path / (path.name + ".md5")).write_bytes(tagged.stdout)
    result = run("rex-verify", path, env=rex_env)
    assert result.returncode == 0, result.err
    assert result.out == f"{path}\n"
    path.write_bytes(os.urandom(5000))
    assert run("rex-verify", path, env=rex_env).returncode == 65


def test_a_directory_operand_is_65_and_named_as_a_directory(run, rex_env, tmp_path):
    folder = tmp_path / "Films_20260101T000000Z.backup"
    folder.mkdir()
    good = tmp_path / "good_20260101T000000Z.sql"
    good.write_bytes(b"x" * 100)
    write_sidecar(str(good), md5_file(str(good)))
    result = run("rex-verify", folder, good, env=rex_env)
    assert result.returncode == 65
    assert f"{folder}: is a directory" in result.err and "sidecar" not in result.err
    assert result.out == f"{good}\n"


def test_recursive_names_an_orphaned_sidecar_as_a_missing_backup(run, rex_env, tmp_path):
    """A sidecar whose backup is gone may be the only trace of a lost backup: -r reports it
    (66, as a missing backup) and leaves it in place."""
    tree = tmp_path / "backups" / "db_5432"
    tree.mkdir(parents=True)
    kept = tree / "globals_20260101T000000Z.sql"
    lost = tree / "globals_20260102T000000Z.sql"
    for path in (kept, lost):
        path.write_bytes(os.urandom(1000))
        write_sidecar(str(path), md5_file(str(path)))
    lost.unlink()
    result = run("rex-verify", "-r", tmp_path / "backups", env=rex_env)
    assert result.returncode == 66, result.err
    assert result.err == f"rex-verify: error: {lost}: backup missing: only its sidecar {lost.name}.md5 remains\n"
    assert result.out == f"{kept}\n" and os.path.exists(str(lost) + ".md5")
