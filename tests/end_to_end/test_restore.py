"""rex-restore against a real PostgreSQL server and the Resolve simulator, as users run it.

The restore tests use a cluster of their own: they create and drop databases, and
the session cluster's library count is what other tests assert.
"""

import json
import os
import shutil

import pytest

from drpfiles import samples
from rex.checksum import md5_file, write_sidecar
from rex.pg.cluster import Cluster, free_port
from sample_library import create_library

HOSTILE_FOLDER = "Grading/2026 \u2014 \u00e9t\u00e9"
HOSTILE_PROJECT = "Spot/30s\nv2\tfinal \\ \u00fc\U0001F3AC"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A cluster with one sample library, plus a folder and a project with hostile names."""
    c = Cluster(base=str(tmp_path_factory.mktemp("pgrestore")))
    with c:
        create_library(c, "Films", projects=4)
        folder = HOSTILE_FOLDER.replace("'", "''")
        project = HOSTILE_PROJECT.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
        c.psql(f"""INSERT INTO "SM_ProjectFolder" VALUES ('00000000-0000-0000-0000-000000000009',
                   '00000000-0000-0000-0000-000000000002', '{folder}');
                   INSERT INTO "SM_Project" VALUES (gen_random_uuid(), E'{project}',
                   '00000000-0000-0000-0000-000000000009', 1800000000, NULL);""", database="Films")
        yield c


@pytest.fixture
def env(rex_env, cluster):
    return dict(rex_env, **cluster.env())


@pytest.fixture(scope="module")
def dump(cluster, tmp_path_factory):
    """One rex-pgdump dump of Films (made once; tests copy it before changing it)."""
    from conftest import dump_once

    return dump_once(cluster, "Films", tmp_path_factory.mktemp("dumphome"))


def databases(cluster):
    return set(cluster.psql("SELECT datname FROM pg_database").splitlines())


def counts(cluster, database):
    sql = ("SELECT string_agg(format('%s=%s', c.relname, "
           "(xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, "
           "'')))[1]), ',' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
           "WHERE c.relkind = 'r' AND n.nspname = 'public'")
    blobs = cluster.psql("SELECT count(*) FROM pg_largeobject_metadata", database=database).strip()
    return cluster.psql(sql, database=database).strip() + f",blobs={blobs}"


def copy_dump(dump, directory, name=None):
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(str(directory), name or os.path.basename(dump))
    shutil.copyfile(dump, target)
    write_sidecar(target, md5_file(target))
    return target


def drop_if_there(cluster, name):
    cluster.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- restore as a new library --------------------------------------------------------

@pytest.mark.slow
def test_restore_as_new_library_then_refusals_then_drop(run, env, cluster, dump):
    result = run("rex-restore", dump, "--as", "Films restored", "-v", env=env)
    assert result.returncode == 0, result.err
    assert result.out == "Films restored\n"
    assert counts(cluster, "Films restored") == counts(cluster, "Films")
    assert "Sm2TiItem=160" in counts(cluster, "Films restored")
    assert "public.Sm2TiItem: 160 rows" in result.err      # -v reports each table's rows

    cluster.psql('CREATE TABLE marker (x int); INSERT INTO marker VALUES (42);', database="Films restored")
    again = run("rex-restore", dump, "--as", "Films restored", env=env)
    assert again.returncode == 73, again.err
    assert "already exists" in again.err and again.out == ""
    assert cluster.psql("SELECT x FROM marker", database="Films restored").strip() == "42"

    over_production = run("rex-restore", dump, "--as", "Films", env=env)
    assert over_production.returncode == 73
    assert "Sm2TiItem=160" in counts(cluster, "Films")

    refused = run("rex-restore", "--drop", "Films", env=env)
    assert refused.returncode == 77 and "did not create" in refused.err
    assert "Films" in databases(cluster)

    dropped = run("rex-restore", "--drop", "Films restored", env=env)
    assert dropped.returncode == 0, dropped.err
    assert "Films restored" not in databases(cluster) and "Films" in databases(cluster)
    assert run("rex-restore", "--drop", "Films restored", env=env).returncode == 66   # gone, and forgotten


def test_drop_of_a_library_that_never_existed_is_66(run, env, cluster):
    result = run("rex-restore", "--drop", "Never Was", env=env)
    assert result.returncode == 66, result.err
    assert "no library 'Never Was'" in result.err and result.err.count("\n") == 1


@pytest.mark.slow
def test_drop_refuses_an_open_library_unless_forced(run, env, cluster, dump):
    import subprocess

    assert run("rex-restore", dump, "--as", "In use", "--json", env=env).returncode == 0
    holder = subprocess.Popen(["psql", "-X", "-w", "-d", "In use", "-c", "SELECT pg_sleep(60)"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cluster.psql("SELECT 1")
        for _ in range(100):
            if cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'In use'").strip() != "0":
                break
            import time
            time.sleep(0.1)
        busy = run("rex-restore", "--drop", "In use", env=env)
        assert busy.returncode == 75 and "--force" in busy.err
        assert "In use" in databases(cluster)
        forced = run("rex-restore", "--drop", "In use", "--force", env=env)
        assert forced.returncode == 0, forced.err
        assert "In use" not in databases(cluster)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_json_record_names_the_library_and_its_size(run, env, cluster, dump):
    result = run("rex-restore", dump, "--as", "Films json", "--json", env=env)
    assert result.returncode == 0, result.err
    record = json.loads(result.out)
    assert record["path"] == "Films json" and record["tables"] == 8 and record["large_objects"] == 1
    assert record["dump"] == os.path.abspath(dump)
    assert run("rex-restore", "--drop", "Films json", env=env).returncode == 0


def test_flipped_byte_is_65_and_creates_nothing(run, env, cluster, dump, tmp_path):
    bad = copy_dump(dump, tmp_path)
    with open(bad, "r+b") as f:
        f.seek(os.path.getsize(bad) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x40]))
    before = databases(cluster)
    result = run("rex-restore", bad, "--as", "Never", env=env)
    assert result.returncode == 65 and "checksum mismatch" in result.err
    assert databases(cluster) == before


@pytest.mark.slow
def test_missing_sidecar_is_refused_unless_no_verify(run, env, cluster, dump, tmp_path):
    bare = os.path.join(tmp_path, "Films_20260101T000000Z.backup")
    shutil.copyfile(dump, bare)
    refused = run("rex-restore", bare, "--as", "No sidecar", env=env)
    assert refused.returncode == 65 and "sidecar" in refused.err
    assert "No sidecar" not in databases(cluster)
    result = run("rex-restore", bare, "--as", "No sidecar", "--no-verify", env=env)
    assert result.returncode == 0, result.err
    assert run("rex-restore", "--drop", "No sidecar", env=env).returncode == 0


def test_missing_file_is_66(run, env, tmp_path):
    result = run("rex-restore", tmp_path / "nope.backup", "--as", "X", env=env)
    assert result.returncode == 66


def test_server_down_is_75(run, env, cluster, dump):
    down = dict(env, PGPORT=str(free_port()))
    before = databases(cluster)
    result = run("rex-restore", dump, "--as", "Down", env=down)
    assert result.returncode == 75, result.err
    assert "unreachable" in result.err
    assert databases(cluster) == before


@pytest.mark.slow
def test_server_from_the_backup_layout(run, env, cluster, dump, tmp_path):
    """Without -h/-p or PGHOST/PGPORT the dump goes back to the server its place names."""
    root = tmp_path / "backups"
    layout = dict(env, REX_BACKUP_ROOT=str(root))
    del layout["PGHOST"], layout["PGPORT"]
    name = os.path.basename(dump)
    home = copy_dump(dump, root / f"127.0.0.1_{cluster.port}" / "Films", name)
    result = run("rex-restore", home, "--as", "From layout", "--json", env=layout)
    assert result.returncode == 0, result.err
    assert json.loads(result.out)["server"] == f"127.0.0.1_{cluster.port}"
    assert "From layout" in databases(cluster)
    # --drop finds the server in state
    assert run("rex-restore", "--drop", "From layout", env=layout).returncode == 0
    assert "From layout" not in databases(cluster)

    elsewhere = copy_dump(dump, root / f"127.0.0.1_{free_port()}" / "Films", name)
    assert run("rex-restore", elsewhere, "--as", "Nowhere", env=layout).returncode == 75
    # an option wins over the layout
    result = run("rex-restore", elsewhere, "--as", "Option wins", "-h", "127.0.0.1", "-p", cluster.port, env=layout)
    assert result.returncode == 0, result.err
    assert run("rex-restore", "--drop", "Option wins", env=layout).returncode == 0   # from state


@pytest.mark.slow
def test_failing_restore_leaves_nothing(run, env, cluster, dump, tmp_path):
    """A dump that reads but fails half-way through (a garbled number in the data, sidecar
    rewritten to match) is rolled back and its new database dropped again."""
    bad = copy_dump(dump, tmp_path)
    data = open(bad, "rb").read()
    assert data.count(b"1700003600") >= 1
    with open(bad, "wb") as f:
        f.write(data.replace(b"1700003600", b"17000036x0"))
    write_sidecar(bad, md5_file(bad))
    before = databases(cluster)
    result = run("rex-restore", bad, "--as", "Half", env=env)
    assert result.returncode == 65, result.err
    assert "restore failed" in result.err and "bigint" in result.err
    assert databases(cluster) == before
    assert run("rex-restore", "--drop", "Half", env=env).returncode == 66   # not there, not remembered


def test_overlong_or_empty_name_is_a_usage_error(run, env, dump):
    assert run("rex-restore", dump, "--as", "x" * 64, env=env).returncode == 64
    assert run("rex-restore", dump, "--as", "", env=env).returncode == 64
    assert run("rex-restore", dump, "--as", "two\nlines", env=env).returncode == 64


def test_dry_run_creates_nothing(run, env, cluster, dump):
    result = run("rex-restore", "-n", dump, "--as", "Dry", env=env)
    assert result.returncode == 0, result.err
    assert "would restore" in result.err and result.out == ""
    assert "Dry" not in databases(cluster)
    assert run("rex-restore", "-n", dump, "--as", "Films", env=env).returncode == 73


# --- listing and finding projects ------------------------------------------------------

def test_list_projects_of_the_sample_library(run, env, dump):
    result = run("rex-restore", "--list-projects", dump, env=env)
    assert result.returncode == 0, result.err
    lines = result.out.splitlines()
    plain = [line for line in lines if not line.startswith("{")]
    assert plain == ["Project 1", "Project 3", "Commercials/Project 2", "Commercials/Project 4"]
    hostile = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(hostile) == 1
    assert hostile[0]["name"] == HOSTILE_PROJECT
    assert hostile[0]["folder"] == ["Commercials", HOSTILE_FOLDER]
    assert hostile[0]["modified"] == "2027-01-15T08:00:00Z"


def test_list_projects_json(run, env, dump):
    result = run("rex-restore", "--list-projects", "--json", env=env, input=dump + "\n")
    assert result.returncode == 0, result.err
    records = [json.loads(line) for line in result.out.splitlines()]
    assert [(r["folder"], r["name"]) for r in records] == [
        ([], "Project 1"), ([], "Project 3"), (["Commercials"], "Project 2"), (["Commercials"], "Project 4"),
        (["Commercials", HOSTILE_FOLDER], HOSTILE_PROJECT)]
    assert records[0]["modified"] == "2023-11-14T23:13:20Z" and records[0]["modified_epoch"] == 1700003600
    assert all(r["dump"] == os.path.abspath(dump) for r in records)


def test_list_projects_of_a_corrupt_dump_is_65(run, env, tmp_path):
    bad = tmp_path / "Films_20260101T000000Z.backup"
    bad.write_bytes(b"PGDMP not really")
    result = run("rex-restore", "--list-projects", bad, env=env)
    assert result.returncode == 65 and result.out == ""


def test_list_projects_names_what_is_no_dump(run, rex_env, dump, tmp_path):
    """A directory under a dump's name holds no dump: named, 66 (it printed nothing, exit 0);
    a link loop or a FIFO as a dump is named (65); the real dump is still listed."""
    directory = tmp_path / "Films_20260101T000000Z.backup"
    directory.mkdir()
    result = run("rex-restore", "--list-projects", directory, env=rex_env)
    assert result.returncode == 66, result.err
    assert f"{directory}: a directory with no dump" in result.err
    loop = tmp_path / "Films_20260102T000000Z.backup"
    os.symlink(loop.name, loop)
    fifo = tmp_path / "Films_20260103T000000Z.backup"
    os.mkfifo(fifo)
    result = run("rex-restore", "--list-projects", loop, fifo, dump, env=rex_env, timeout=60)
    assert result.returncode == 65, result.err
    assert f"{loop}: a symbolic link loop, not a dump" in result.err
    assert f"{fifo}: a FIFO, not a dump" in result.err
    assert "Project 1" in result.out.splitlines()


@pytest.mark.slow
def test_find_prints_the_newest_dump_holding_the_project(run, env, cluster, dump, tmp_path):
    library = tmp_path / "lib"
    older = copy_dump(dump, library, "Films_20260101T000000Z.backup")
    has = copy_dump(dump, library, "Films_20260102T000000Z.backup")
    cluster.psql('CREATE DATABASE "Films without 3" TEMPLATE "Films"')
    try:
        cluster.psql("""DELETE FROM "SM_Project_Sm2Timeline" WHERE "SM_Project_id" IN
                        (SELECT "SM_Project_id" FROM "SM_Project" WHERE "ProjectName" = 'Project 3');
                        DELETE FROM "SM_Project" WHERE "ProjectName" = 'Project 3';""", database="Films without 3")
        result = run("rex-pgdump", "Films without 3", env=env)
        assert result.returncode == 0, result.err
        newest = copy_dump(result.out.strip(), library, "Films_20260103T000000Z.backup")
    finally:
        drop_if_there(cluster, "Films without 3")
    os.utime(older, (2000000000, 2000000000))    # mtime must not matter

    found = run("rex-restore", "--find", "Project 3", library, "-v", env=env)
    assert found.returncode == 0, found.err
    assert found.out == has + "\n"
    assert f"searched {newest}" in found.err and f"searched {has}" in found.err
    assert f"searched {older}" not in found.err

    glob_json = run("rex-restore", "--find", "Commercials/Project *", "--json", newest, older, env=env)
    assert glob_json.returncode == 0
    record = json.loads(glob_json.out)
    assert record["path"] == newest and [p["name"] for p in record["projects"]] == ["Project 2", "Project 4"]

    missing = run("rex-restore", "--find", "Project 99", library, env=env)
    assert missing.returncode == 1 and missing.out == ""
    assert "no dump holds" in missing.err


# --- project files through Resolve -----------------------------------------------------

@pytest.fixture
def drp(tmp_path):
    path = copy_dump(samples()[0], tmp_path / "drp", "Spot_20260101T000000Z.drp")
    return path


def projects_in(db="Local Database", folder=()):
    from _rexsim import state

    st = state.snapshot()
    root = next(d for d in st["databases"] if d["DbName"] == db)["root"]
    for name in folder:
        root = root["folders"][name]
    return [p["name"] for p in root["projects"]]


def test_import_drp_with_a_new_name(run, sim, drp):
    result = run("rex-restore", drp, "--name", "Spot (restored)", env=sim)
    assert result.returncode == 0, result.err
    assert result.out == "Spot (restored)\n"
    assert projects_in() == ["Spot (restored)"]

    again = run("rex-restore", drp, "--name", "Spot (restored)", env=sim)
    assert again.returncode == 73 and "exists" in again.err
    assert projects_in() == ["Spot (restored)"]


def test_import_default_name_and_folder_keeps_the_user_where_they_were(run, sim, drp):
    from _rexsim import state

    state.add_folder("Local Database", ("Clients", "Acme"))
    state.add_folder("Local Database", ("Elsewhere",))
    state.set_current(folder=("Elsewhere",))
    result = run("rex-restore", drp, "--folder", "Clients/Acme", "--json", env=sim)
    assert result.returncode == 0, result.err
    record = json.loads(result.out)
    assert record["folder"] == ["Clients", "Acme"]
    assert record["name"].startswith("Spot (restored 20")
    assert projects_in(folder=("Clients", "Acme")) == [record["name"]]
    assert state.snapshot()["current_folder"] == ["Elsewhere"]
    missing = run("rex-restore", drp, "--folder", "No/Such", env=sim)
    assert missing.returncode == 66


def test_import_into_the_current_folder_tracked_by_path_not_by_its_bare_name(run, sim, drp):
    # GetCurrentFolder() names "Jobs" in Jobs and in Jobs/Jobs alike; ImportProject takes
    # its arguments by position (a keyword call would answer a bare False).
    from _rexsim import state

    state.add_folder("Local Database", ("Jobs", "Jobs"))
    state.set_current(folder=("Jobs", "Jobs"))
    result = run("rex-restore", drp, "--name", "Spot (restored)", "--json", env=sim)
    assert result.returncode == 0, result.err
    assert json.loads(result.out)["folder"] == ["Jobs", "Jobs"]
    assert projects_in(folder=("Jobs", "Jobs")) == ["Spot (restored)"]
    assert projects_in(folder=("Jobs",)) == [] and projects_in() == []
    assert state.snapshot()["current_folder"] == ["Jobs", "Jobs"]
    assert state.misuse() == []


def test_import_when_resolve_is_not_running_is_75(run, sim, drp):
    from _rexsim import state

    state.set_running(False)
    result = run("rex-restore", drp, "--name", "X", env=sim)
    assert result.returncode == 75 and "running" in result.err


def test_import_of_a_corrupt_drp_is_65(run, sim, drp):
    with open(drp, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0x01]))
    result = run("rex-restore", drp, "--name", "X", env=sim)
    assert result.returncode == 65
    write_sidecar(drp, md5_file(drp))     # sidecar matches, the ZIP still does not
    result = run("rex-restore", drp, "--name", "X", env=sim)
    assert result.returncode == 65
    assert projects_in() == []


def test_usage_errors(run, env, dump, drp):
    assert run("rex-restore", dump, "--as", "A", "--list-projects", env=env).returncode == 64
    assert run("rex-restore", dump, env=env).returncode == 64
    assert run("rex-restore", "--force", dump, "--as", "A", env=env).returncode == 64
    assert run("rex-restore", drp, "--as", "A", "--name", "B", env=env).returncode == 64


def slow_pg_restore(directory):
    """A pg_restore that sleeps before restoring (not before listing), so a test can stop it."""
    from rex.pg.tools import newest

    slow = directory / "pg_restore"
    slow.write_text("#!/bin/sh\ncase \" $* \" in *\" --single-transaction \"*) sleep 30;; esac\n"
                    f"exec {newest('pg_restore')} \"$@\"\n")
    slow.chmod(0o755)
    return slow


@pytest.mark.slow
def test_kill_9_mid_restore_leaves_a_record_that_drop_cleans(run, env, cluster, dump, tmp_path):
    """A restore killed with SIGKILL cannot clean up; the library it left is known to --drop."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import BIN
    slow = slow_pg_restore(tmp_path)
    proc = subprocess.Popen([sys.executable, os.path.join(BIN, "rex-restore"), dump, "--as", "Killed",
                             "--pg-restore", str(slow)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while "Killed" not in databases(cluster):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    again = run("rex-restore", dump, "--as", "Killed", env=env)
    assert again.returncode == 73 and "left incomplete" in again.err and "--drop" in again.err
    dropped = run("rex-restore", "--drop", "Killed", env=env)
    assert dropped.returncode == 0, dropped.err
    assert "Killed" not in databases(cluster)


@pytest.mark.slow
def test_sigterm_mid_restore_drops_the_new_library(run, env, cluster, dump, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from conftest import BIN
    slow = slow_pg_restore(tmp_path)
    proc = subprocess.Popen([sys.executable, os.path.join(BIN, "rex-restore"), dump, "--as", "Stopped",
                             "--pg-restore", str(slow)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while "Stopped" not in databases(cluster):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Stopped" not in databases(cluster)
    assert run("rex-restore", "--drop", "Stopped", env=env).returncode == 66


@pytest.mark.slow
def test_drop_never_drops_a_database_made_again_under_a_restored_name(run, env, cluster, dump):
    """The library rex-restore made was dropped elsewhere and the name used again (Resolve's
    Project Manager, an admin): --drop must not take the newcomer for its own."""
    assert run("rex-restore", dump, "--as", "Reused name", env=env).returncode == 0
    drop_if_there(cluster, "Reused name")
    cluster.psql('CREATE DATABASE "Reused name"')
    cluster.psql("CREATE TABLE precious (x int); INSERT INTO precious VALUES (7);", database="Reused name")
    try:
        dry = run("rex-restore", "--drop", "Reused name", "--dry-run", env=env)
        assert dry.returncode == 77 and "would drop" not in dry.err, dry.err
        assert run("rex-restore", dump, "--as", "Made again", env=env).returncode == 0   # oids move on
        drop_if_there(cluster, "Made again")
        refused = run("rex-restore", "--drop", "Reused name", "--force", env=env)
        assert refused.returncode == 77, refused.err
        assert "did not create" in refused.err and len(refused.err.splitlines()) == 1
        assert cluster.psql("SELECT x FROM precious", database="Reused name").strip() == "7"
    finally:
        drop_if_there(cluster, "Reused name")
