"""rex-pgdump against a real PostgreSQL server, as users run it."""

import glob
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from rex.pg.cluster import Cluster
from sample_library import create_library
from smalldisk import needs_root, small_disk

BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bin")


def backups(root, pattern="*.backup"):
    return sorted(glob.glob(os.path.join(root, "**", pattern), recursive=True))


def table_counts(cluster, database):
    sql = ("SELECT string_agg(format('%s=%s', c.relname, "
           "(xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]),"
           " ',' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
           "WHERE c.relkind = 'r' AND n.nspname = 'public'")
    return cluster.psql(sql, database=database).strip()


@pytest.mark.slow
def test_all_dumps_every_library_with_sidecars(run, pg_env, pg_cluster):
    result = run("rex-pgdump", "--all", env=pg_env)
    assert result.returncode == 0, result.err
    printed = result.out.splitlines()
    assert len(printed) == 2
    names = sorted(os.path.basename(p) for p in printed)
    assert names[0].startswith("Commercials 2026_") and names[1].startswith("Resolve Projects_")
    for path in printed:
        assert path.endswith(".backup") and os.path.getsize(path) > 0
        assert os.stat(path).st_mode & 0o077 == 0, "backups are private"
        check = subprocess.run(["md5sum", "-c", os.path.basename(path) + ".md5"], cwd=os.path.dirname(path),
                               capture_output=True, text=True)
        assert check.returncode == 0 and ": OK" in check.stdout
    # grouped by server, then library
    rel = os.path.relpath(printed[0], pg_env["REX_BACKUP_ROOT"]).split(os.sep)
    assert rel[0] == f"127.0.0.1_{pg_cluster.port}" and len(rel) == 3
    assert "postgres" not in " ".join(printed)


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_dump_restores_with_identical_counts(run, pg_env, pg_cluster, jobs):
    result = run("rex-pgdump", "Resolve Projects", env=pg_env)
    assert result.returncode == 0, result.err
    path = result.out.strip()
    target = f"restored_{jobs}"
    pg_cluster.psql(f'DROP DATABASE IF EXISTS {target}; CREATE DATABASE {target};')
    argv = ["pg_restore", "--no-owner", "-d", target, path] + (["-j", str(jobs)] if jobs > 1 else [])
    restore = subprocess.run(argv, env=pg_env, capture_output=True, text=True)
    assert restore.returncode == 0, restore.stderr
    assert table_counts(pg_cluster, target) == table_counts(pg_cluster, "Resolve Projects")
    assert "Sm2TiItem=" in table_counts(pg_cluster, target)
    blobs = pg_cluster.psql("SELECT count(*) FROM pg_largeobject_metadata", database=target).strip()
    assert blobs == "1"
    pg_cluster.psql(f"DROP DATABASE {target};")


@pytest.mark.slow
def test_missing_library_fails_alone(run, pg_env):
    result = run("rex-pgdump", "No Such Library", "Resolve Projects", env=pg_env)
    assert result.returncode == 1
    assert "No Such Library" in result.err and "does not exist" in result.err
    assert len(result.out.splitlines()) == 1 and "Resolve Projects_" in result.out
    assert not backups(pg_env["REX_BACKUP_ROOT"], "No Such Library*")


@pytest.mark.slow
def test_a_library_without_tables_is_65(run, pg_env, pg_cluster):
    pg_cluster.psql('CREATE DATABASE "No Tables";')
    try:
        alone = run("rex-pgdump", "No Tables", env=pg_env)
        assert alone.returncode == 65, alone.err
        assert "lists no table" in alone.err and alone.out == ""
        beside = run("rex-pgdump", "No Tables", "Commercials 2026", env=pg_env)
        assert beside.returncode == 65 and len(beside.out.splitlines()) == 1
    finally:
        pg_cluster.psql('DROP DATABASE "No Tables";')
    assert not backups(pg_env["REX_BACKUP_ROOT"], "No Tables*")


@pytest.mark.slow
def test_only_sidecars_orphaned_by_a_killed_run_are_cleaned(run, pg_env, pg_cluster):
    """A sidecar left beside a dead run's temporary file is ours to remove; one whose backup
    is simply gone may be the only trace of a lost backup: it stays, and rex-verify -r names it."""
    library = os.path.join(pg_env["REX_BACKUP_ROOT"], f"127.0.0.1_{pg_cluster.port}", "Commercials 2026")
    os.makedirs(library)
    dead = subprocess.Popen(["true"])
    dead.wait()
    killed = os.path.join(library, "Commercials 2026_20250102T000000Z.backup")
    temp = os.path.join(library, f".Commercials 2026_20250102T000000Z.backup.rex-tmp-{dead.pid}-0bad")
    lost = os.path.join(library, "Commercials 2026_20250101T000000Z.backup")
    for path in (temp, killed + ".md5", lost + ".md5"):
        with open(path, "w") as f:
            f.write("0123456789abcdef0123456789abcdef  x\n")
    result = run("rex-pgdump", "Commercials 2026", env=pg_env)
    assert result.returncode == 0, result.err
    assert not os.path.exists(temp) and not os.path.exists(killed + ".md5")
    assert os.path.exists(lost + ".md5")
    verify = run("rex-verify", "-r", pg_env["REX_BACKUP_ROOT"], env=pg_env)
    assert verify.returncode == 66, verify.err
    assert f"{lost}: backup missing" in verify.err and result.out.strip() in verify.out


def test_globals_written_beside(run, pg_env):
    result = run("rex-pgdump", "--globals", "Commercials 2026", env=pg_env)
    assert result.returncode == 0, result.err
    sql = [p for p in result.out.splitlines() if p.endswith(".sql")]
    assert len(sql) == 1 and "CREATE ROLE postgres" in open(sql[0]).read()
    assert os.path.exists(sql[0] + ".md5")


@pytest.mark.slow
def test_wrong_password_is_77_and_never_prompts(run, pg_env, tmp_path):
    passfile = tmp_path / "badpass"
    passfile.write_text("*:*:*:postgres:wrong\n")
    passfile.chmod(0o600)
    env = dict(pg_env, PGPASSFILE=str(passfile))
    result = run("rex-pgdump", "--all", env=env, timeout=30)
    assert result.returncode == 77, result.err
    assert "authentication failed" in result.err
    env = dict(pg_env, PGPASSFILE=str(tmp_path / "none"))
    result = run("rex-pgdump", "--all", env=env, timeout=30)
    assert result.returncode == 77 and "no password supplied" in result.err
    assert result.out == ""


def test_server_down_is_75(run, rex_env):
    from rex.pg.cluster import free_port

    result = run("rex-pgdump", "--all", "-h", "127.0.0.1", "-p", free_port(), env=rex_env, timeout=60)
    assert result.returncode == 75
    assert result.err.count("\n") == 1 and "unreachable" in result.err


def test_no_database_named_is_a_usage_error(run, pg_env):
    result = run("rex-pgdump", env=pg_env)
    assert result.returncode == 64 and "--all" in result.err


def fake_pg_dump(tmp_path, version, real=True):
    script = tmp_path / f"pg_dump_{version}"
    body = f'exec {glob.glob("/usr/lib/postgresql/*/bin/pg_dump")[-1]} "$@"' if real else "exit 1"
    script.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo "pg_dump (PostgreSQL) {version}"; exit 0; fi\n'
                      f"{body}\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.slow
def test_pg_dump_missing_is_69(run, pg_env, tmp_path):
    result = run("rex-pgdump", "--all", "--pg-dump", str(tmp_path / "nope"), env=pg_env)
    assert result.returncode == 69 and "not found" in result.err


@pytest.mark.slow
def test_older_pg_dump_is_refused(run, pg_env, tmp_path):
    result = run("rex-pgdump", "--all", "--pg-dump", fake_pg_dump(tmp_path, "9.6.24", real=False), env=pg_env)
    assert result.returncode == 69 and "older than the server" in result.err
    assert not backups(pg_env["REX_BACKUP_ROOT"])


@pytest.mark.slow
def test_newer_pg_dump_warns(run, pg_env, tmp_path):
    result = run("rex-pgdump", "Resolve Projects", "--pg-dump", fake_pg_dump(tmp_path, "99.1"), env=pg_env)
    assert result.returncode == 0, result.err
    assert "warning" in result.err and "empty library" in result.err


@pytest.mark.slow
def test_kill_9_never_leaves_a_partial_backup(run, rex_env, tmp_path):
    with Cluster(base=str(tmp_path / "pg")) as cluster:
        create_library(cluster, "Big Library", projects=20, items_per_timeline=400, payload_bytes=4096)
        env = dict(rex_env, **cluster.env())
        rng = random.Random(7)
        for _ in range(4):
            proc = subprocess.Popen([sys.executable, os.path.join(BIN, "rex-pgdump"), "--all", "-Z", "9"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
            time.sleep(rng.uniform(0.1, 1.0))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            for path in backups(env["REX_BACKUP_ROOT"]):  # anything under a final name is whole
                verify = run("rex-verify", path, env=env)
                assert verify.returncode == 0, verify.err
        result = run("rex-pgdump", "--all", env=env)
        assert result.returncode == 0, result.err
        leftovers = [n for _d, _s, files in os.walk(env["REX_BACKUP_ROOT"]) for n in files if ".rex-tmp-" in n]
        assert leftovers == []
        assert run("rex-verify", *result.out.splitlines(), env=env).returncode == 0


@pytest.mark.slow
def test_two_runs_at_once_both_succeed(run, pg_env):
    procs = [subprocess.Popen([sys.executable, os.path.join(BIN, "rex-pgdump"), "--all"], env=pg_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    paths = [line for out, _ in outs for line in out.decode().splitlines()]
    assert len(paths) == 4 and len(set(paths)) == 4
    assert run("rex-verify", *paths, env=pg_env).returncode == 0


@pytest.mark.slow
def test_lock_held_gives_75(run, pg_env, pg_cluster):
    import fcntl

    label = f"127.0.0.1_{pg_cluster.port}"
    lockdir = os.path.join(pg_env["XDG_STATE_HOME"], "rex", "locks")
    os.makedirs(lockdir, exist_ok=True)
    with open(os.path.join(lockdir, f"pgdump-{label}.lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        result = run("rex-pgdump", "--all", "--lock-wait", "0.5", env=pg_env)
        assert result.returncode == 75 and "lock" in result.err
        assert time.monotonic() - started < 20


@pytest.mark.slow
@needs_root
def test_full_disk_is_74_and_earlier_backups_survive(run, pg_env, pg_cluster, tmp_path):
    with small_disk(tmp_path / "small") as mount:
        env = dict(pg_env, REX_BACKUP_ROOT=str(mount))
        first = run("rex-pgdump", "Commercials 2026", env=env)
        assert first.returncode == 0, first.err
        earlier = first.out.strip()
        before = open(earlier, "rb").read()
        pg_cluster.psql('CREATE DATABASE "Too Big";')
        try:
            pg_cluster.psql("CREATE TABLE filler AS SELECT g, md5(g::text) || md5((g*7)::text) AS t "
                            "FROM generate_series(1, 40000) g;", database="Too Big")
            full = run("rex-pgdump", "-Z", "0", "Too Big", env=env)
            assert full.returncode == 74, full.err
            assert "disk full" in full.err and full.out == ""
        finally:
            pg_cluster.psql('DROP DATABASE "Too Big";')
        assert open(earlier, "rb").read() == before
        assert run("rex-verify", earlier, env=env).returncode == 0
        names = [n for _d, _s, files in os.walk(mount) for n in files]
        assert not any(n.startswith("Too Big") or ".rex-tmp-" in n for n in names), names


def test_server_name_chooses_the_directory(run, pg_env):
    result = run("rex-pgdump", "--server-name", "Main DB/..", "Commercials 2026", env=pg_env)
    assert result.returncode == 0, result.err
    rel = os.path.relpath(result.out.strip(), pg_env["REX_BACKUP_ROOT"]).split(os.sep)
    assert rel[0] == "Main DB%2F.%2E" and rel[1] == "Commercials 2026"
