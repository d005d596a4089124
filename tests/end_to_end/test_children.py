"""Children die with their parent: a `kill -9` of a command leaves no pg_dump,
pg_restore or other program of it running (checked by pid and start time in /proc)."""

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from rex.pg.cluster import Cluster
from sample_library import create_library

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "bin")

pytestmark = [pytest.mark.slow,   # kill -9 of running jobs
              pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads processes from /proc")]


def _stat(pid):
    """(command name, state, parent pid, start time) of `pid`, or None when there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return name, fields[0], int(fields[1]), fields[19]


def children(parent, name):
    """{pid: start time} of the live processes called `name` whose parent is `parent`."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and stat[0] == name and stat[2] == parent and stat[1] != "Z":
                found[int(entry)] = stat[3]
    return found


def running(pid, started):
    """True while the process `pid` that started at `started` still runs (a zombie has ended)."""
    stat = _stat(pid)
    return stat is not None and stat[3] == started and stat[1] not in ("Z", "X")


def wait_for_child(proc, name, argv_part=b"", timeout=60):
    """The {pid: start} of `proc`'s child `name` (whose argv holds `argv_part`) once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        found = {}
        for pid, start in children(proc.pid, name).items():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if argv_part in f.read():
                        found[pid] = start
            except OSError:
                continue
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no {name} started under {proc.pid}")


@contextlib.contextmanager
def frozen(cluster):
    """The server stopped (SIGSTOP to the postmaster and its processes): a client of it
    waits, connected or connecting, until the server is thawed on exit."""
    with open(os.path.join(cluster.datadir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster]
    os.kill(postmaster, signal.SIGSTOP)     # first: it forks no backend from now on
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (_stat(int(entry)) or (0, 0, 0))[2] == postmaster:
            with contextlib.suppress(OSError):
                os.kill(int(entry), signal.SIGSTOP)
                pids.append(int(entry))
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)


def kill_and_check(proc, kids, within=3.0):
    """SIGKILL `proc` alone (not its group), then every child in `kids` must end within `within` s."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(running(p, s) for p, s in kids.items()):
        time.sleep(0.05)
    left = [p for p, s in kids.items() if running(p, s)]
    for pid in left:   # do not leave them to the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"still running after the parent was killed: {left}"


@pytest.mark.parametrize("mode", ["parent-death signal", "watchdog"])
def test_a_child_started_by_the_runner_dies_with_its_parent(mode):
    """Both ways: Linux's parent-death signal, and the process group and watchdog of other systems."""
    force = "runner._LIBC[:] = [None]" if mode == "watchdog" else ""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.path.join(ROOT, 'lib')!r})
        from rex import runner
        {force}
        runner.popen(["sleep", "300"])
        print("started", flush=True)
        time.sleep(300)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"started\n"
    kids = children(proc.pid, "sleep")
    assert len(kids) == 1
    kill_and_check(proc, kids)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A cluster with a library big enough that pg_dump and pg_restore run for a while."""
    with Cluster(base=str(tmp_path_factory.mktemp("pgbig"))) as cluster:
        create_library(cluster, "Big Library", projects=20, items_per_timeline=400, payload_bytes=4096)
        yield cluster


@pytest.fixture
def big_env(rex_env, big):
    return dict(rex_env, **big.env())


def start(env, *args):
    return subprocess.Popen([sys.executable, os.path.join(BIN, args[0]), *args[1:]], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def test_kill_9_of_rex_pgdump_ends_pg_dump(big_env, big):
    proc = start(big_env, "rex-pgdump", "-Z", "9", "Big Library")
    kids = wait_for_child(proc, "pg_dump", b"--file=")
    with frozen(big):       # so pg_dump cannot finish on its own meanwhile
        assert all(running(p, s) for p, s in kids.items())
        kill_and_check(proc, kids)


def test_kill_9_of_rex_restore_ends_pg_restore(run, big_env, big):
    dumped = run("rex-pgdump", "-Z", "0", "Big Library", env=big_env)
    assert dumped.returncode == 0, dumped.err
    proc = start(big_env, "rex-restore", dumped.out.strip(), "--as", f"Copy {time.time_ns()}")
    kids = wait_for_child(proc, "pg_restore", b"--dbname=")
    with frozen(big):
        assert all(running(p, s) for p, s in kids.items())
        kill_and_check(proc, kids)
