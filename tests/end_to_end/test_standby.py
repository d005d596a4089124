"""rex-standby against two real clusters from initdb on free loopback ports: a primary
that starts unready, is prepared, cloned, watched and finally replaced by its standby."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import run_cmd, user_env

pytestmark = pytest.mark.slow
PASSWORD = "s3cret:rep'l"


def _edit_primary(cluster):
    """An unready primary: WAL level minimal, no senders, no slots, no replication lines."""
    with open(os.path.join(cluster.datadir, "postgresql.conf"), "a") as f:
        f.write("wal_level = minimal\nmax_wal_senders = 0\nmax_replication_slots = 0\n")
    hba = os.path.join(cluster.datadir, "pg_hba.conf")
    with open(hba) as f:
        lines = [line for line in f if " replication " not in line]
    with open(hba, "w") as f:
        f.writelines(lines)


@pytest.fixture(scope="module")
def primary(tmp_path_factory):
    from rex.pg.cluster import Cluster

    cluster = Cluster(base=str(tmp_path_factory.mktemp("primary")))
    cluster.create()
    _edit_primary(cluster)
    try:
        yield cluster.start()
    finally:
        cluster.remove()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


def env_of(cluster, home, **extra):
    return user_env(home, **cluster.env(), **extra)


def standby_cmd(cluster, home, *args, **extra):
    return run_cmd("rex-standby", *args, env=env_of(cluster, home, **extra), timeout=300)


PREPARE = ("prepare", "--standby-address", "127.0.0.1", "--role", "replicator")


@pytest.fixture(scope="module")
def ready(primary, home):
    """The person's fix (the pg_hba.conf line), then --apply, then a restart."""
    before = standby_cmd(primary, home, *PREPARE)
    with open(os.path.join(primary.datadir, "pg_hba.conf"), "a") as f:
        f.write("host replication replicator 127.0.0.1/32 scram-sha-256\n")
    applied = standby_cmd(primary, home, *PREPARE, "--apply", REX_STANDBY_PASSWORD=PASSWORD)
    primary.stop()
    primary.start()
    return before, applied


def test_prepare_names_each_missing_setting_with_its_fix(ready):
    before, _ = ready
    assert before.returncode == 1, before.err
    err = before.err
    assert "wal_level: is minimal" in err and "ALTER SYSTEM SET wal_level = 'replica'; then restart" in err
    assert "max_wal_senders: is 0" in err and "ALTER SYSTEM SET max_wal_senders = 10" in err
    assert "max_replication_slots: is 0" in err
    assert "role replicator does not exist" in err
    assert "add the line 'host replication replicator 127.0.0.1/32 scram-sha-256'" in err
    assert "then reload" in err
    assert "pg_create_physical_replication_slot('rex_standby', true)" in err


def test_apply_leaves_only_the_restart_then_ready_and_idempotent(primary, home, ready):
    _, applied = ready
    assert applied.returncode == 1, applied.err
    left = [line for line in applied.err.splitlines() if "fix:" in line]
    assert left and all("restart" in line or "slot rex_standby" in line for line in left), left
    assert "wal_level: is minimal, needs replica; replica is set and waits for a restart" in applied.err
    assert "PASSWORD" not in applied.err and PASSWORD not in applied.err
    first = standby_cmd(primary, home, *PREPARE, "--apply", REX_STANDBY_PASSWORD=PASSWORD)
    assert first.returncode == 0, first.err          # the slot, now that slots exist
    second = standby_cmd(primary, home, *PREPARE, "--apply")
    assert second.returncode == 0, second.err
    assert "ready" in second.err
    assert primary.psql("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'rex_standby'").strip() \
        == "reserved"


def test_apply_never_gives_the_role_the_superusers_password(primary, home, ready):
    result = standby_cmd(primary, home, "prepare", "--standby-address", "127.0.0.1", "--role", "other",
                         "--apply", PGPASSWORD=primary.password)
    assert result.returncode == 1
    assert "password: role other has no password" in result.err, result.err
    assert primary.psql("SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'other'").strip() == "t"


def clone_standby(primary, home, *slot):
    """A standby of `primary` cloned and started by rex-standby (`slot`: e.g. --slot NAME)."""
    from rex.pg.cluster import Cluster, free_port

    standby_cmd(primary, home, *PREPARE, *slot, "--apply", REX_STANDBY_PASSWORD=PASSWORD)
    node = Cluster()
    node.base = tempfile.mkdtemp(prefix="rex-standby-")
    node.port = free_port()
    os.chmod(node.base, 0o755)
    shutil.copy(primary.passfile, node.passfile)
    os.makedirs(node.sockdir)
    if node.user is not None:
        os.chown(node.sockdir, node.user.pw_uid, node.user.pw_gid)
    result = standby_cmd(primary, home, "clone", "-U", "replicator", *slot, node.datadir, "--start",
                         "--standby-port", node.port, REX_STANDBY_PASSWORD=PASSWORD)
    node.running = os.path.exists(os.path.join(node.datadir, "postmaster.pid"))
    node.clone_result = result
    return node


@pytest.fixture(scope="module")
def standby(primary, home, ready):
    node = clone_standby(primary, home)
    try:
        yield node
    finally:
        node.remove()


def wait_for(check, timeout=20):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_clone_streams_with_the_password_only_in_a_0600_passfile(standby):
    assert standby.clone_result.returncode == 0, standby.clone_result.err
    assert standby.clone_result.out.strip() == standby.datadir
    assert oct(os.stat(standby.datadir).st_mode & 0o777) == "0o700"
    auto = open(os.path.join(standby.datadir, "postgresql.auto.conf")).read()
    assert PASSWORD not in auto and "s3cret" not in auto
    assert re.search(r"primary_conninfo = '.*passfile=", auto)
    passfile = os.path.join(standby.datadir, "rex-standby.pgpass")
    assert oct(os.stat(passfile).st_mode & 0o777) == "0o600"
    assert os.path.exists(os.path.join(standby.datadir, "standby.signal"))
    assert not [n for n in os.listdir(os.path.dirname(standby.datadir)) if "rex-partial" in n]


def test_rows_on_the_primary_appear_on_the_standby(primary, standby):
    primary.psql("CREATE TABLE IF NOT EXISTS edits (n int); INSERT INTO edits SELECT generate_series(1, 500)")
    wait_for(lambda: standby.psql("SELECT count(*) FROM pg_class WHERE relname = 'edits'").strip() == "1"
             and standby.psql("SELECT count(*) FROM edits").strip() == "500")


def test_large_objects_and_a_library_reach_the_standby_and_dump_alike(primary, standby, home):
    from sample_library import create_library

    primary.psql("SELECT lo_from_bytea(4242, 'a still frame')")
    create_library(primary, "Standby Projects", projects=2)
    wait_for(lambda: standby.psql("SELECT count(*) FROM pg_database WHERE datname = 'Standby Projects'").strip()
             == "1" and standby.psql("SELECT encode(lo_get(4242), 'escape')").strip() == "a still frame")
    wait_for(lambda: standby_cmd(primary, home, "--json", "status").returncode == 0)
    tocs = []
    for node, name in ((primary, "p"), (standby, "s")):
        env = env_of(node, home / name)
        dumped = run_cmd("rex-pgdump", "-Z", "0", "Standby Projects", env=env)
        assert dumped.returncode == 0, dumped.err
        toc = subprocess.run(["pg_restore", "-l", dumped.out.strip()], capture_output=True, text=True, check=True)
        tocs.append([line for line in toc.stdout.splitlines() if line and not line.startswith(";")])
    assert tocs[0] == tocs[1] and len(tocs[0]) > 5


def test_status_ok_with_no_lag_on_both_sides(primary, standby, home):
    wait_for(lambda: standby_cmd(primary, home, "--json", "status").returncode == 0)
    result = standby_cmd(primary, home, "--json", "status")
    record = json.loads(result.out)
    assert record["status"] == "OK" and record["side"] == "primary" and record["connected"]
    assert record["replay_lag_bytes"] < 1 << 20
    on_standby = standby_cmd(standby, home, "--json", "status")
    assert on_standby.returncode == 0, on_standby.err
    assert json.loads(on_standby.out)["side"] == "standby"


def test_stopped_standby_retains_wal_and_goes_warning_then_critical(primary, standby, home):
    standby.stop()
    try:
        primary.psql("CREATE TABLE IF NOT EXISTS bulk (t text); "
                     "INSERT INTO bulk SELECT repeat('x', 1000) FROM generate_series(1, 20000)")
        config = home / "thresholds.yaml"
        config.write_text("standby:\n  warn: 1MB\n  crit: 1GB\n")
        warn = standby_cmd(primary, home, "--json", "-c", config, "status")
        assert warn.returncode == 1, warn.err
        record = json.loads(warn.out)
        assert record["retained_bytes"] > 1 << 20 and not record["connected"]
        crit = standby_cmd(primary, home, "status", "--warn", "1MB", "--crit", "2MB")
        assert crit.returncode == 2 and crit.out.strip() == "CRITICAL", crit.err
    finally:
        standby.start()
    wait_for(lambda: standby_cmd(primary, home, "status").returncode == 0, timeout=60)


def test_a_bad_threshold_is_a_usage_or_configuration_error(home, tmp_path):
    env = user_env(home)
    assert run_cmd("rex-standby", "status", "--warn", "lots", env=env).returncode == 64
    config = tmp_path / "rex.yaml"
    config.write_text("standby:\n  crit: soon\n")
    result = run_cmd("rex-standby", "-c", config, "status", env=env)
    assert result.returncode == 78 and "standby.crit" in result.err, result.err


def test_wrong_password_is_77_and_a_down_server_75(primary, home, tmp_path):
    from rex.pg.cluster import free_port

    env = user_env(home, PGHOST="127.0.0.1", PGPORT=str(primary.port), PGUSER="postgres", PGPASSWORD="wrong")
    wrong = run_cmd("rex-standby", *PREPARE, env=env)
    assert wrong.returncode == 77, wrong.err
    assert len(wrong.err.strip().splitlines()) == 1
    down = run_cmd("rex-standby", *PREPARE, env=dict(env, PGPORT=str(free_port())))
    assert down.returncode == 75, down.err


def test_a_failed_clone_leaves_no_directory_and_removes_a_killed_ones(primary, home, tmp_path):
    target = tmp_path / "standby"
    wrong = standby_cmd(primary, home, "clone", "-U", "replicator", target, REX_STANDBY_PASSWORD="wrong")
    assert wrong.returncode == 77, wrong.err
    assert os.listdir(tmp_path) == []
    leftover = tmp_path / ".standby.rex-partial"     # what a killed clone leaves
    leftover.mkdir()
    (leftover / "PG_VERSION").write_text("15\n")
    failed = standby_cmd(primary, home, "clone", "-U", "replicator", "--slot", "no_such_slot", target,
                         REX_STANDBY_PASSWORD=PASSWORD)
    assert failed.returncode != 0 and "no_such_slot" in failed.err, failed.err
    assert len(failed.err.strip().splitlines()) == 1, failed.err
    assert os.listdir(tmp_path) == [], os.listdir(tmp_path)


def test_lost_wal_is_critical_even_after_the_standby_restarts(primary, standby, home):
    primary.psql("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'; SELECT pg_reload_conf()")
    standby.stop()
    try:
        for _ in range(4):
            primary.psql("INSERT INTO bulk SELECT repeat('y', 1000) FROM generate_series(1, 20000); "
                         "SELECT pg_switch_wal(); CHECKPOINT")
        wait_for(lambda: primary.psql(
            "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'rex_standby'").strip() == "lost")
    finally:
        standby.start()
    time.sleep(2)
    result = standby_cmd(primary, home, "--json", "status", "--warn", "1GB,1h", "--crit", "2GB,2h")
    assert result.returncode == 2, result.err
    assert json.loads(result.out)["wal_status"] == "lost" and "lost" in result.err


def test_promote_force_promotes_while_the_primary_answers(primary, home, ready):
    second = clone_standby(primary, home, "--slot", "second")
    try:
        assert second.clone_result.returncode == 0, second.clone_result.err
        assert standby_cmd(second, home, "promote").returncode == 1
        forced = standby_cmd(second, home, "promote", "--force")
        assert forced.returncode == 0, forced.err
        assert second.psql("SELECT pg_is_in_recovery()").strip() == "f"
        primary.psql("SELECT 1")            # the primary was left as it was
    finally:
        second.remove()


def test_promote_refuses_while_the_primary_answers_then_makes_it_writable(primary, standby, home):
    refused = standby_cmd(standby, home, "promote")
    assert refused.returncode == 1 and "still answers" in refused.err
    assert standby.psql("SELECT pg_is_in_recovery()").strip() == "t"
    primary.stop()
    promoted = standby_cmd(standby, home, "promote")
    assert promoted.returncode == 0, promoted.err
    assert "clone" in promoted.err
    standby.psql("INSERT INTO edits VALUES (42)")
    assert standby.psql("SELECT pg_is_in_recovery()").strip() == "f"
