"""rexd as a process, with schedules of seconds ("every N seconds" exists only under
REX_DAEMON_TEST_SECONDS=1, a test hook): runs on time, an overlapping slot skipped,
SIGTERM mid-job ends every process of the pipeline, SIGHUP with a broken configuration
keeps the schedule, a missed run caught up once after a restart, READY/STATUS/WATCHDOG/
STOPPING on a real notify socket, a failing job reported to a loopback monitor and
recorded in the run history."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import BIN
from loopbackmonitor import serving


class Rexd:
    """rexd started in the background, its stderr in a file the test reads as it goes."""

    def __init__(self, env, tmp_path, *args):
        self.env, self.tmp = env, tmp_path
        self.args = args
        self.err_path = tmp_path / f"rexd-{time.monotonic_ns()}.err"
        self.proc = None

    def start(self):
        self._err = open(self.err_path, "wb")
        self.started = time.time()
        self.proc = subprocess.Popen([sys.executable, os.path.join(BIN, "rexd"), *self.args], env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._err)
        return self

    @property
    def err(self):
        return self.err_path.read_text(errors="replace")

    def wait_for(self, text, count=1, timeout=20):
        end = time.monotonic() + timeout
        while self.err.count(text) < count:
            assert self.proc.poll() is None or self.err.count(text) >= count, f"rexd ended: {self.err}"
            assert time.monotonic() < end, f"no {count} x {text!r} in rexd's stderr:\n{self.err}"
            time.sleep(0.05)

    def stop(self, signum=signal.SIGTERM, timeout=30):
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout)
        self._err.close()
        return code

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def rexd(rex_env, tmp_path):
    started = []

    def make(*args, env=None):
        daemon = Rexd(env or rex_env, tmp_path, *args).start()
        started.append(daemon)
        return daemon
    yield make
    for daemon in started:
        daemon.kill()


@pytest.fixture
def env(rex_env):
    return dict(rex_env, REX_DAEMON_TEST_SECONDS="1")


def configure(env, text):
    path = os.path.join(env["XDG_CONFIG_HOME"], "rex", "rex.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    return path


def stamps(path):
    """The lines `START t` / `END t` a job wrote, as (kind, float) pairs."""
    if not os.path.exists(path):
        return []
    return [(kind, float(t)) for kind, t in (line.split() for line in open(path).read().splitlines())]


def logged(tmp_path, name, body="", sleep=0):
    """A job's command line that logs its start and end times to tmp_path/name."""
    out = tmp_path / name
    return (f"echo START $(date +%s.%N) >> {out}; {body} sleep {sleep}; echo END $(date +%s.%N) >> {out}",
            out)


def test_jobs_run_on_their_slots_and_after_jobs_follow(env, tmp_path, rexd):
    tick, tick_log = logged(tmp_path, "tick")
    follow, follow_log = logged(tmp_path, "follow")
    configure(env, f"""
        daemon:
          jobs:
            - {{name: tick, when: every 2 seconds, run: '{tick}'}}
            - {{name: follow, after: tick, run: '{follow}'}}
            - {{name: never, when: weekly on mon at 03:00 in Europe/Paris, run: 'exit 9'}}
    """)
    daemon = rexd(env=env)
    daemon.wait_for("tick: succeeded", 3, timeout=30)
    daemon.wait_for("follow: succeeded", 3)
    assert daemon.stop() == 0
    starts = [t for kind, t in stamps(tick_log) if kind == "START"]
    assert len(starts) >= 3
    for t in starts:                 # on an even second, a little after it (bash and date start; a loaded host)
        assert t % 2 < 1.0, starts
    follows = [t for kind, t in stamps(follow_log) if kind == "START"]
    ends = [t for kind, t in stamps(tick_log) if kind == "END"]
    assert all(any(0 <= f - e < 1.5 for e in ends) for f in follows), (follows, ends)
    assert "never" not in daemon.err.replace("never: ", "")


def test_a_slot_that_comes_while_the_job_runs_is_skipped_never_overlapping(env, tmp_path, rexd):
    slow, slow_log = logged(tmp_path, "slow", sleep=2.5)
    configure(env, f"""
        daemon:
          jobs:
            - {{name: slow, when: every 1 seconds, run: '{slow}'}}
    """)
    daemon = rexd(env=env)
    daemon.wait_for("slow: succeeded", 2, timeout=30)
    assert daemon.stop() == 0
    assert "slow: skipped: the run started" in daemon.err
    marks = stamps(slow_log)
    kinds = [k for k, _t in marks]
    assert kinds[:4] == ["START", "END", "START", "END"]                      # never two at once
    times = [t for _k, t in marks]
    assert times == sorted(times)


def pgid_members(pgid):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(pid))
    return found


def test_sigterm_mid_job_waits_the_stop_timeout_then_ends_every_process_of_the_pipeline(env, tmp_path, rexd):
    server, stop_server = serving()
    try:
        configure(env, f"""
            daemon:
              jobs:
                - name: long
                  when: every 1 seconds
                  run: echo $$ > {tmp_path}/pgid; sleep 300 | sleep 301 | cat
              stop_timeout: 1s
            report:
              monitors:
                - webhook: {server.url}/hook
        """)
        daemon = rexd(env=env)
        daemon.wait_for("long: started")
        deadline = time.monotonic() + 10
        while not (tmp_path / "pgid").exists() or len(pgid_members(int((tmp_path / "pgid").read_text()))) < 4:
            assert time.monotonic() < deadline, "the pipeline did not start"
            time.sleep(0.05)
        pgid = int((tmp_path / "pgid").read_text())
        begun = time.monotonic()
        assert daemon.stop(signal.SIGTERM) == 0
        took = time.monotonic() - begun
        assert 1 <= took < 8, took
        assert pgid_members(pgid) == []
        assert "long: still running; sending SIGTERM to its processes" in daemon.err
        hooks = [json.loads(r["body"]) for r in server.wait_for(2)]
        failure = next(h for h in hooks if h["event"] == "failure")
        assert failure["exit_status"] == 128 + signal.SIGTERM
    finally:
        stop_server()


def test_sighup_with_a_broken_configuration_keeps_the_schedule_then_a_good_one_applies(env, tmp_path, rexd):
    first, first_log = logged(tmp_path, "first")
    second, second_log = logged(tmp_path, "second")
    path = configure(env, f"""
        daemon:
          jobs:
            - {{name: first, when: every 1 seconds, run: '{first}'}}
    """)
    daemon = rexd(env=env)
    daemon.wait_for("first: succeeded")
    with open(path, "w") as f:
        f.write("daemon:\n  jobs:\n    - name: first\n      when: every 1 fortnights\n      run: x\n")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for("reload refused, the schedule in force stays")
    assert f"{path}:4:13: daemon.jobs: job 1: when:" in daemon.err
    done = daemon.err.count("first: succeeded")
    daemon.wait_for("first: succeeded", done + 2)                # still on its schedule
    configure(env, f"""
        daemon:
          jobs:
            - {{name: second, when: every 1 seconds, run: '{second}'}}
    """)
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for("reloaded: 1 jobs")
    daemon.wait_for("second: succeeded")
    settled = len(stamps(first_log))
    time.sleep(1.5)
    assert daemon.stop() == 0
    assert len(stamps(first_log)) == settled                     # the old job is gone
    assert stamps(second_log)


def test_a_missed_run_is_caught_up_once_after_a_restart_never_as_a_burst(env, tmp_path, rexd):
    job, job_log = logged(tmp_path, "job")
    configure(env, f"""
        daemon:
          jobs:
            - {{name: job, when: every 3 seconds, run: '{job}'}}
    """)
    daemon = rexd(env=env)
    daemon.wait_for("job: succeeded")
    assert daemon.stop() == 0
    assert "missed" not in daemon.err                           # no state yet: nothing to catch up
    time.sleep(7)                                                # two slots, at least, pass while it is down
    again = rexd(env=env)
    again.wait_for("job: succeeded")
    restarted = again.started
    next_slot = (int(restarted) // 3 + 1) * 3
    time.sleep(max(0.0, next_slot - time.time() - 0.2))
    assert again.stop() == 0
    assert again.err.count("a run was missed while rexd was down; running it now") == 1
    assert "skipped" not in again.err                            # no second missed slot even tried
    starts = [t for kind, t in stamps(job_log) if kind == "START" and t >= restarted]
    assert len(starts) == 1 and starts[0] - restarted < 2.0, (starts, restarted)


def test_ready_status_watchdog_and_stopping_on_a_real_notify_socket(env, tmp_path, rexd, notify_socket):
    configure(env, """
        daemon:
          jobs:
            - {name: nightly, when: daily at 02:30 in Europe/Paris, run: 'true'}
            - {name: upload, after: nightly, run: 'true'}
    """)
    daemon = rexd(env=dict(env, **notify_socket.env(WATCHDOG_USEC="1000000")))
    ready = notify_socket.wait_for("READY", "1")
    assert ready["STATUS"].startswith("next: nightly at ") and ready["STATUS"].endswith(" UTC")
    begun = time.monotonic()
    notify_socket.wait_for("WATCHDOG", "1")
    count = lambda: sum(1 for m in notify_socket.messages if m.get("WATCHDOG") == "1")  # noqa: E731
    while count() < 3:
        notify_socket.receive(0.5)
        assert time.monotonic() - begun < 10, notify_socket.messages
    assert daemon.stop() == 0
    notify_socket.wait_for("STOPPING", "1")


def test_a_failing_job_is_reported_with_its_tail_and_recorded_in_the_run_history(env, tmp_path, rexd):
    server, stop_server = serving()
    try:
        configure(env, f"""
            daemon:
              jobs:
                - name: rex-pgdump
                  when: every 1 seconds
                  run: "sh -c 'echo pg_dump: connection refused >&2; exit 4' | cat"
            report:
              monitors:
                - healthchecks: {server.url}/hc/UUID
              tail_lines: 5
        """)
        daemon = rexd(env=env)
        daemon.wait_for("rex-pgdump: failed (exit 4)")
        server.wait_for(2)
        assert daemon.stop() == 0
    finally:
        stop_server()
    paths = [r["path"] for r in server.requests]
    assert paths[0].startswith("/hc/UUID/start?rid=")
    fail = next(r for r in server.requests if r["path"].startswith("/hc/UUID/4"))
    assert fail["path"].split("rid=")[1] == paths[0].split("rid=")[1]
    assert b"rex-pgdump failed on " in fail["body"] and b"pg_dump: connection refused" in fail["body"]
    sys.path.insert(0, os.path.join(os.path.dirname(BIN), "lib"))
    from rex.monitor.history import DB_NAME, RunHistory

    with RunHistory(os.path.join(env["XDG_STATE_HOME"], "rex", DB_NAME)) as history:
        runs = history.runs(job="rex-pgdump")
    failed = [r for r in runs if r["status"] == "failure"]
    assert failed and failed[-1]["exit_code"] == 4 and "connection refused" in failed[-1]["log_tail"]


def test_list_run_and_check(env, tmp_path, run):
    configure(env, """
        daemon:
          jobs:
            - {name: nightly, when: daily at 02:30 in America/New_York, run: 'echo ran >&2; exit 3'}
            - {name: upload, after: nightly, run: 'true'}
    """)
    listed = run("rexd", "--list", "--count", "2", env=env)
    assert listed.returncode == 0, listed.err
    first, second = listed.out.splitlines()
    assert first.startswith("nightly\tdaily at 02:30 in America/New_York\tnext: ")
    assert first.count("02:30:00 America/New_York (E") == 2 and second == "upload\tafter nightly succeeds"
    records = [json.loads(line) for line in run("rexd", "--list", "--json", env=env).out.splitlines()]
    assert len(records[0]["next"]) == 3 and records[1]["after"] == "nightly"
    ran = run("rexd", "--run", "nightly", env=env)
    assert ran.returncode == 3 and "ran" in ran.err
    missing = run("rexd", "--run", "nope", env=env)
    assert missing.returncode == 64 and "no job named 'nope' in daemon.jobs (jobs: nightly, upload)" in missing.err
    assert run("rexd", "--check", env=env).returncode == 0
    configure(env, "daemon:\n  jobs:\n    - {name: a, when: daily at 2:61, run: x}\n")
    checked = run("rexd", "--check", env=env)
    assert checked.returncode == 78 and ":3:23: daemon.jobs: job 1: when: 'daily at 2:61'" in checked.err
    assert run("rexd", env=env).returncode == 78                   # the daemon does not start on it


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def zombies_of(parent):
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == parent:
            found.append(int(pid))
    return found


def test_as_pid_1_of_a_container_it_reaps_orphans_and_stops_on_sigterm(env, tmp_path):
    """In a PID namespace of its own (as a container's main process): a job leaves a
    process of another session behind, which the kernel hands to rexd when it ends."""
    probe = subprocess.run(["unshare", "--pid", "--fork", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no PID namespace here: {probe.stderr.decode().strip()}")
    configure(env, f"""
        daemon:
          jobs:
            - {{name: leaver, when: every 1 seconds, run: 'setsid sleep 0.3 & echo left >> {tmp_path}/left'}}
    """)
    err = open(tmp_path / "err", "wb")
    outer = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", sys.executable,
                              os.path.join(BIN, "rexd")], env=env, stdin=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "left").exists() or len((tmp_path / "left").read_text().split()) < 4:
            assert outer.poll() is None and time.monotonic() < deadline, (tmp_path / "err").read_text()
            time.sleep(0.1)
        [inner] = children(outer.pid)                       # rexd, PID 1 inside
        time.sleep(0.6)                                      # the last sleeper has ended
        assert zombies_of(inner) == []
        os.kill(inner, signal.SIGTERM)
        assert outer.wait(20) == 0
    finally:
        outer.kill()
        err.close()
    assert "rexd: stopped" in (tmp_path / "err").read_text()


def test_one_rexd_per_state_and_run_waits_for_no_running_job(env, tmp_path, rexd, run):
    configure(env, """
        daemon:
          jobs:
            - {name: long, when: every 1 seconds, run: 'sleep 5'}
    """)
    daemon = rexd(env=env)
    daemon.wait_for("long: started")
    second = run("rexd", env=env, timeout=30)
    assert second.returncode == 75 and "another rexd runs with the state directory" in second.err
    now = run("rexd", "--run", "long", env=env, timeout=30)
    assert now.returncode == 75 and "long is running already (rexd runs it); try later" in now.err
    assert daemon.stop() == 0
    by_hand = subprocess.Popen([sys.executable, os.path.join(BIN, "rexd"), "--run", "long"], env=env,
                               stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        again = rexd(env=env)
        again.wait_for("long: skipped: a run started by rexd --run still goes")
        assert "long: started" not in again.err
        assert again.stop() == 0
    finally:
        by_hand.terminate()             # rexd --run passes it on to the job's processes
        by_hand.wait(30)
