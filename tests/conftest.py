"""Shared fixtures: isolated directories, running commands as users do, and real
PostgreSQL clusters (initdb/pg_ctl on a free loopback port, password auth on)."""

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles, chosen by HYPOTHESIS_PROFILE (or pytest --hypothesis-profile):
# "ci", the default, runs every property test with its full count of examples; "fast"
# (make test-fast) runs a few of each, for the edit-test loop. Neither has a deadline:
# on a loaded machine a deadline fails on the load, not on a bug.
# Under CI=true the examples are derived from each test's name (derandomize): a CI run is
# repeatable, so the run before a submission predicts the submission's; every other run
# draws new examples and keeps finding what CI would not.
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=os.environ.get("CI") == "true")
settings.register_profile("fast", deadline=None, max_examples=10,
                          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
FAST_EXAMPLES = settings.get_profile("fast").max_examples


def pytest_collection_modifyitems(config, items):
    """Under the fast profile, a test that names its own max_examples runs at most the
    profile's count too (an explicit @settings would otherwise win over any profile)."""
    if settings.get_current_profile_name() != "fast":
        return
    for item in items:
        test = getattr(item, "obj", None)
        own = getattr(test, "_hypothesis_internal_use_settings", None)   # set by @given/@settings
        if own is not None and own.max_examples > FAST_EXAMPLES:
            test._hypothesis_internal_use_settings = settings(own, max_examples=FAST_EXAMPLES)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
sys.path.insert(0, os.path.join(ROOT, "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))   # sample_library: sample data, kept out of the runtime package
SIM = os.path.join(ROOT, "tests", "resolve_sim")   # RESOLVE_SCRIPT_API of the simulator
SIM_LIB = os.path.join(SIM, "lib", "fusionscript.py")   # its "native library": RESOLVE_SCRIPT_LIB
sys.path.insert(0, os.path.join(SIM, "Modules"))    # its state helpers, for the tests


def user_env(base, **extra):
    """The environment a user would have, every location private under `base`: XDG
    config, state and data directories, the backup root and HOME; nothing inherited from
    the caller's PG*, REX_*, XDG_* or journal variables; the test's Python first on PATH.
    `extra` is added last. The one place a test environment is made (fixtures, tests
    that cannot take a fixture, such as hypothesis tests working in their own tempdir)."""
    base = os.fspath(base)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PG", "REX_", "XDG_", "JOURNAL_STREAM"))}
    env.update(XDG_CONFIG_HOME=os.path.join(base, "config"), XDG_STATE_HOME=os.path.join(base, "state"),
               XDG_DATA_HOME=os.path.join(base, "data"), REX_BACKUP_ROOT=os.path.join(base, "backups"),
               HOME=os.path.join(base, "home"), LC_ALL="C.UTF-8")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


@pytest.fixture
def rex_env(tmp_path):
    """An environment with private XDG directories and backup root, as a user would have."""
    return user_env(tmp_path)


def run_cmd(name, *args, env=None, input=None, timeout=120, **kwargs):
    """Run a command from bin/ as a subprocess; returns CompletedProcess (text)."""
    if isinstance(input, str):
        input = input.encode()
    result = subprocess.run([sys.executable, os.path.join(BIN, name), *map(str, args)], env=env, input=input,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                            stdin=None if input is not None else subprocess.DEVNULL, **kwargs)
    result.out = result.stdout.decode("utf-8", "surrogateescape")
    result.err = result.stderr.decode("utf-8", "replace")
    return result


def dump_once(cluster, library, home):
    """One rex-pgdump dump of `library` on `cluster`, made in its own state under `home`."""
    env = user_env(home, **cluster.env())
    result = run_cmd("rex-pgdump", "-Z", "0", library, env=env)
    assert result.returncode == 0, result.err
    return result.out.strip()


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    """A real PostgreSQL cluster holding two Resolve-shaped project libraries."""
    from rex.pg.cluster import Cluster
    from sample_library import create_library

    cluster = Cluster(base=str(tmp_path_factory.mktemp("pg")))
    with cluster:
        create_library(cluster, "Resolve Projects", projects=5)
        create_library(cluster, "Commercials 2026", projects=3)
        yield cluster


@pytest.fixture(scope="module", params=["sftp", "webdav"])
def remote(request, tmp_path_factory):
    """An rclone remote served on loopback, once per module and kind: sftp (md5 on the
    remote) and webdav (no hashes)."""
    from rclone_remote import Remote

    server = Remote(request.param, tmp_path_factory.mktemp(request.param)).start()
    yield server
    server.stop()


@pytest.fixture
def pg_env(rex_env, pg_cluster):
    """rex_env pointed at the session cluster through the libpq environment."""
    env = dict(rex_env)
    env.update(pg_cluster.env())
    return env


@pytest.fixture
def run():
    """The function that runs a command from bin/ (see run_cmd)."""
    return run_cmd


def sim_env(env, state_file):
    """ENV reaching the simulator whose state is STATE_FILE, as Resolve's scripts are set up."""
    return dict(env, RESOLVE_SCRIPT_API=SIM, RESOLVE_SCRIPT_LIB=SIM_LIB, REX_SIM_STATE=str(state_file))


@pytest.fixture
def sim(rex_env, tmp_path, monkeypatch):
    """An empty running Resolve (the simulator); returns the environment that reaches it.

    The simulator's state helpers (`from _rexsim import state`) act on the same state
    file in this process. Afterwards, no script may have misused Resolve's API (keyword
    or wrong-count arguments, calls Resolve does not have, deprecated calls): those fail
    silently with the real product.
    """
    from _rexsim import state

    monkeypatch.setenv("REX_SIM_STATE", str(tmp_path / "sim.json"))
    state.empty()
    yield sim_env(rex_env, tmp_path / "sim.json")
    assert state.misuse() == [], "Resolve's API misused (fails silently with the real product)"


@pytest.fixture
def notify_socket():
    """A real $NOTIFY_SOCKET: pass `notify_socket.env()` to the service, then `wait_for("READY")`."""
    from notifysocket import NotifySocket

    sock = NotifySocket()
    yield sock
    sock.close()


@pytest.fixture
def redis_server(tmp_path_factory):
    """A real redis-server on a free loopback port (`.url`, `.stop()`, `.start()` again on the
    same port and data); stopped at teardown. For requirepass, make a RedisServer(dir, password)."""
    from redisserver import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()
