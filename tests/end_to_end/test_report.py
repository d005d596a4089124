"""rex-report against a real HTTP server started here on loopback, which records every
request it gets and can be told to fail, hang or be gone."""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import BIN

PIPELINE_FIRST_STAGE_FAILS = "sh -c 'echo first stage: pg_dump: connection refused >&2; exit 4' | cat >/dev/null"


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests = []          # dicts: method, path, headers, body, status
        self.answers = []           # statuses (or "hang") to give, in order; then 200
        self.release = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def paths(self, status=None):
        return [r["path"] for r in self.requests if status is None or r["status"] == status]

    def wait_for(self, count, timeout=20):
        end = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < end:
            time.sleep(0.02)
        return self.requests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            answer = self.server.answers.pop(0) if self.server.answers else 200
        if answer == "hang":
            self.server.release.wait(120)
            return
        self.server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                     "body": body, "status": answer})
        self.send_response(answer)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = Recorder()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def closed_port():
    """A loopback port with nothing listening: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(env, text):
    path = os.path.join(env["XDG_CONFIG_HOME"], "rex", "rex.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    os.chmod(path, 0o600)
    return path


def all_monitors(env, url, **extra):
    write_config(env, f"""
        report:
          monitors:
            - healthchecks: {url}/hc/UUID
            - ntfy: {url}/ntfy/rex-studio
              events: [start, success, failure]
            - webhook: {url}/hook
          timeout: 2s
          retries: 1
    """.rstrip(" ") + "".join(f"          {k}: {v}\n" for k, v in extra.items()))


def report(run, env, *args, **kw):
    return run("rex-report", *args, env=env, **kw)


# --- run: start, success, failure with the tail -------------------------------------------------

def test_run_failing_first_stage_reports_failure_with_its_stderr(run, rex_env, server):
    all_monitors(rex_env, server.url)
    result = report(run, rex_env, "run", "rex-pgdump", "--", "/bin/bash", "-o", "pipefail", "-c",
                    PIPELINE_FIRST_STAGE_FAILS)
    assert result.returncode == 4
    assert "first stage: pg_dump: connection refused" in result.err      # passed through
    by_path = {r["path"].split("?")[0]: r for r in server.requests}
    assert set(by_path) == {"/hc/UUID/start", "/hc/UUID/4", "/ntfy/rex-studio", "/hook"}
    fail = by_path["/hc/UUID/4"]
    assert b"first stage: pg_dump: connection refused" in fail["body"]
    assert fail["body"].startswith(b"rex-pgdump failed on ") and b"(exit 4)" in fail["body"]
    rid = fail["path"].split("rid=")[1]
    assert by_path["/hc/UUID/start"]["path"].endswith(f"rid={rid}")
    ntfys = [r for r in server.requests if r["path"] == "/ntfy/rex-studio"]
    assert sorted(n["headers"]["Priority"] for n in ntfys) == ["high", "low"]
    failed = next(n for n in ntfys if n["headers"]["Priority"] == "high")
    assert "rex-pgdump failed" in failed["headers"]["Title"] and "rotating_light" in failed["headers"]["Tags"]
    assert b"connection refused" in failed["body"]
    hooks = [json.loads(r["body"]) for r in server.requests if r["path"] == "/hook"]
    assert [h["event"] for h in sorted(hooks, key=lambda h: h["event"] != "start")] == ["start", "failure"]
    hook = next(h for h in hooks if h["event"] == "failure")
    assert hook["job"] == "rex-pgdump" and hook["exit_status"] == 4 and hook["run_id"] == rid
    assert "first stage: pg_dump: connection refused" in hook["log_tail"]
    assert hook["host"] == socket.gethostname() and hook["time"].endswith("Z")


@pytest.mark.slow
def test_run_success_reports_start_and_success_and_passes_records_through(run, rex_env, server):
    all_monitors(rex_env, server.url)
    result = report(run, rex_env, "run", "rex-verify", "--", "/bin/bash", "-o", "pipefail", "-c",
                    "printf '/backups/a.backup\\n' | cat")
    assert result.returncode == 0, result.err
    assert result.out == "/backups/a.backup\n" and result.err == ""
    hc = sorted(p.split("?")[0] for p in server.paths() if p.startswith("/hc/"))
    assert hc == ["/hc/UUID", "/hc/UUID/start"]
    ntfy = [r["headers"]["Priority"] for r in server.requests if r["path"].startswith("/ntfy/")]
    assert sorted(ntfy) == ["default", "low"]
    hooks = sorted(json.loads(r["body"])["event"] for r in server.requests if r["path"] == "/hook")
    assert hooks == ["start", "success"]


def test_run_keeps_only_the_last_lines(run, rex_env, server):
    all_monitors(rex_env, server.url, tail_lines=3)
    result = report(run, rex_env, "run", "rex-pgdump", "--", "/bin/sh", "-c",
                    "for i in 1 2 3 4 5 6; do echo line$i >&2; done; exit 2")
    assert result.returncode == 2
    [hook] = [json.loads(r["body"]) for r in server.requests if r["path"] == "/hook" and b"failure" in r["body"]]
    assert hook["log_tail"] == "line4\nline5\nline6"


def terminated_run(env, args, until):
    """`rex-report run ARGS...` sent SIGTERM once until() returns; the ended Popen."""
    proc = subprocess.Popen([sys.executable, os.path.join(BIN, "rex-report"), "run", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        until()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    return proc


@pytest.mark.slow
def test_run_signals_become_128_plus_n_and_are_forwarded(run, rex_env, server):
    all_monitors(rex_env, server.url)
    def running():
        server.wait_for(3)          # the start reached every monitor: the job is running
        time.sleep(0.3)

    proc = terminated_run(rex_env, ["rex-export", "--", "/bin/bash", "-o", "pipefail", "-c", "sleep 60 | cat"],
                          running)
    assert proc.returncode == 128 + signal.SIGTERM
    assert any(p.startswith(f"/hc/UUID/{128 + signal.SIGTERM}") for p in server.paths())


@pytest.mark.slow
def test_run_stopped_during_the_start_report_never_starts_the_job_and_reports(rex_env, server, tmp_path):
    write_config(rex_env, f"""
        report:
          monitors:
            - healthchecks: {server.url}/hc/UUID
          timeout: 30s
          retries: 0
    """)
    server.answers = ["hang"]           # the start ping hangs: the job has not begun
    marker = tmp_path / "job-ran"
    proc = terminated_run(rex_env, ["rex-prune", "--", "/bin/sh", "-c", f"touch '{marker}'"],
                          lambda: time.sleep(1.5))
    assert proc.returncode == 128 + signal.SIGTERM
    assert not marker.exists()
    [failure] = server.wait_for(1)
    assert failure["path"].startswith(f"/hc/UUID/{128 + signal.SIGTERM}")
    assert b"before rex-prune started" in failure["body"]


def test_run_of_a_missing_program_reports_127(run, rex_env, server):
    all_monitors(rex_env, server.url)
    result = report(run, rex_env, "run", "rex-pgdump", "--", "/nonexistent/rex-nothing")
    assert result.returncode == 127
    [hook] = [json.loads(r["body"]) for r in server.requests if r["path"] == "/hook" and b"failure" in r["body"]]
    assert "cannot run" in hook["log_tail"]


# --- standalone events ------------------------------------------------------------------------

@pytest.mark.slow
def test_standalone_events_and_log_sources(run, rex_env, server, tmp_path):
    all_monitors(rex_env, server.url)
    log = tmp_path / "job.log"
    log.write_text("".join(f"message {i}\n" for i in range(100)), encoding="utf-8")
    assert report(run, rex_env, "start", "rex-verify").returncode == 0
    assert report(run, rex_env, "success", "rex-verify").returncode == 0
    assert report(run, rex_env, "failure", "rex-verify", "--exit-status", "65", "--log", str(log)).returncode == 0
    result = report(run, rex_env, "failure", "rex-verify", "--log", "-", "--tail-lines", "2",
                    input="from stdin 1\nfrom stdin 2\nfrom stdin 3\n")
    assert result.returncode == 0 and result.err == ""
    hc = [r for r in server.requests if r["path"].startswith("/hc/")]
    assert [r["path"] for r in hc] == ["/hc/UUID/start", "/hc/UUID", "/hc/UUID/65", "/hc/UUID/fail"]
    assert hc[2]["body"].endswith(b"message 80\n" + b"".join(b"message %d\n" % i for i in range(81, 99))
                                  + b"message 99")
    assert hc[3]["body"].endswith(b"\nfrom stdin 2\nfrom stdin 3")


@pytest.mark.slow
def test_per_job_monitors_replace_the_default_list(run, rex_env, server):
    write_config(rex_env, f"""
        report:
          monitors:
            - healthchecks: {server.url}/default
          jobs:
            rex-pgdump:
              - healthchecks: {server.url}/pgdump-own
            rex-verify: []
    """)
    for job in ("rex-pgdump", "rex-verify", "rex-export"):
        assert report(run, rex_env, "success", job).returncode == 0
    assert server.paths() == ["/pgdump-own", "/default"]


def test_urls_and_tokens_from_the_environment(run, rex_env, server):
    write_config(rex_env, """
        report:
          monitors:
            - ntfy: $REX_TEST_NTFY
              token_env: REX_TEST_TOKEN
    """)
    env = dict(rex_env, REX_TEST_NTFY=f"{server.url}/secret-topic", REX_TEST_TOKEN="tk_123")
    assert report(run, env, "failure", "rex-export", "--exit-status", "1").returncode == 0
    [req] = server.requests
    assert req["path"] == "/secret-topic" and req["headers"]["Authorization"] == "Bearer tk_123"
    result = report(run, rex_env, "failure", "rex-export")
    assert result.returncode == 0 and "REX_TEST_NTFY is not set" in result.err


# --- monitors that are down -----------------------------------------------------------------------

def warnings(result):
    return [ln for ln in result.err.splitlines() if ln.startswith("rex-report: warning:")]


@pytest.mark.slow
def test_refused_monitor_never_changes_the_outcome(run, rex_env, closed_port):
    write_config(rex_env, f"""
        report:
          monitors:
            - healthchecks: http://127.0.0.1:{closed_port}/SECRET-UUID
          retries: 1
          timeout: 2s
    """)
    ok = report(run, rex_env, "run", "rex-pgdump", "--", "/bin/true", timeout=60)
    assert ok.returncode == 0
    failed = report(run, rex_env, "run", "rex-pgdump", "--", "/bin/sh", "-c", "exit 3", timeout=60)
    assert failed.returncode == 3
    alone = report(run, rex_env, "failure", "rex-pgdump", "--exit-status", "3", timeout=60)
    assert alone.returncode == 0
    [line] = warnings(alone)
    assert line == (f"rex-report: warning: failure of rex-pgdump not reported to healthchecks 127.0.0.1: "
                    "connection refused (2 tries)")
    assert "SECRET" not in alone.err and len(warnings(ok)) == 2 and len(warnings(failed)) == 2


@pytest.mark.slow
def test_monitor_answering_500_is_retried_then_warned_about(run, rex_env, server):
    all_monitors(rex_env, server.url)
    write_config(rex_env, f"""
        report:
          monitors:
            - webhook: {server.url}/hook
          retries: 2
    """)
    server.answers = [500, 500, 500]
    result = report(run, rex_env, "success", "rex-verify")
    assert result.returncode == 0
    assert [r["status"] for r in server.requests] == [500, 500, 500]
    assert warnings(result) == ["rex-report: warning: success of rex-verify not reported to webhook 127.0.0.1: "
                                "answered HTTP 500 Internal Server Error"]


def test_one_500_then_ok_delivers_once(run, rex_env, server):
    write_config(rex_env, f"""
        report:
          monitors:
            - healthchecks: {server.url}/hc
          retries: 2
    """)
    server.answers = [500]
    result = report(run, rex_env, "failure", "rex-pgdump", "--exit-status", "1")
    assert result.returncode == 0 and result.err == ""
    assert [(r["path"], r["status"]) for r in server.requests] == [("/hc/1", 500), ("/hc/1", 200)]


@pytest.mark.slow
def test_hanging_monitor_costs_bounded_time(run, rex_env, server):
    write_config(rex_env, f"""
        report:
          monitors:
            - healthchecks: {server.url}/hc
            - webhook: {server.url}/hook
          timeout: 0.5s
          retries: 0
    """)
    server.answers = ["hang", "hang"]
    # The server would hold the connection for two minutes; rex-report must not wait for it.
    result = report(run, rex_env, "run", "rex-pgdump", "--", "/bin/sh", "-c", "exit 5", timeout=30)
    assert result.returncode == 5
    start_warnings = [w for w in warnings(result) if "start of rex-pgdump" in w]
    assert len(start_warnings) == 2 and all("no answer within 0.5 s" in w for w in start_warnings)
    assert sorted(p.split("?")[0] for p in server.paths()) == ["/hc/5", "/hook"]   # the failure got through


# --- configuration and usage errors ---------------------------------------------------------------

def test_config_errors_exit_78_with_position(run, rex_env):
    path = write_config(rex_env, """
        report:
          monitors:
            - pagerduty: https://events.example/x
    """)
    result = report(run, rex_env, "start", "rex-pgdump")
    assert result.returncode == 78
    assert f"{path}:3:7: report.monitors: monitor 1: unknown monitor kind 'pagerduty'" in result.err
    write_config(rex_env, """
        report:
          monitors:
            - ntfy: not a url
    """)
    result = report(run, rex_env, "success", "rex-pgdump")
    assert result.returncode == 78 and f"{path}:3:13:" in result.err


def test_run_with_a_broken_config_still_runs_the_job(run, rex_env, tmp_path):
    write_config(rex_env, "report:\n  monitors: 3\n")
    marker = tmp_path / "ran"
    result = report(run, rex_env, "run", "rex-pgdump", "--", "/bin/sh", "-c", f"touch {marker}")
    assert marker.exists() and result.returncode == 78
    result = report(run, rex_env, "run", "rex-pgdump", "--", "/bin/sh", "-c", "exit 6")
    assert result.returncode == 6


@pytest.mark.parametrize("args", [("run", "rex-pgdump"), ("start", "rex-pgdump", "--", "true"),
                                  ("success", "rex-pgdump", "--exit-status", "1"), ("restart", "rex-pgdump"),
                                  ("start", "rex pgdump")])
def test_usage_errors_exit_64(run, rex_env, args):
    assert report(run, rex_env, *args).returncode == 64


def test_no_monitors_is_quiet_success(run, rex_env):
    result = report(run, rex_env, "failure", "rex-pgdump", "--exit-status", "2")
    assert result.returncode == 0 and result.err == ""


# --- desktop and systemd (program boundaries: notify-send, journalctl) -----------------------------

def fake_program(directory, name, script):
    path = directory / name
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_desktop_monitor_calls_notify_send_on_failure_only(run, rex_env, tmp_path):
    fakes = tmp_path / "fakebin"
    fakes.mkdir()
    argv_file = tmp_path / "notify-argv"
    fake_program(fakes, "notify-send", f'for a in "$@"; do printf "%s\\n" "$a"; done >> {argv_file}\n')
    write_config(rex_env, "report:\n  monitors:\n    - desktop: true\n")
    env = dict(rex_env, PATH=f"{fakes}:{rex_env['PATH']}", DISPLAY=":0")
    assert report(run, env, "run", "rex-export", "--", "/bin/true").returncode == 0
    assert not argv_file.exists()
    result = report(run, env, "run", "rex-export", "--", "/bin/sh", "-c", "echo Resolve is not running >&2; exit 75")
    assert result.returncode == 75
    lines = argv_file.read_text().splitlines()
    assert lines[0] == "--app-name=Rex" and lines[1].startswith("rex-export failed on ")
    assert "(exit 75)" in lines[1] and lines[2] == "Resolve is not running"
    no_desktop = dict(env)
    del no_desktop["DISPLAY"]
    result = report(run, no_desktop, "failure", "rex-export")
    assert result.returncode == 0 and "no desktop session" in result.err


SYSTEMD_ENV = {"MONITOR_SERVICE_RESULT": "exit-code", "MONITOR_EXIT_CODE": "exited", "MONITOR_EXIT_STATUS": "69",
               "MONITOR_INVOCATION_ID": "0f8fad5bd9cb469fa16570867728950e", "MONITOR_UNIT": "rex-pgdump.service"}


def test_from_systemd_with_a_log_file(run, rex_env, server, tmp_path):
    all_monitors(rex_env, server.url)
    log = tmp_path / "journal.txt"
    log.write_text("rex-pgdump: error: pg_dump: program not found\n", encoding="utf-8")
    env = dict(rex_env, **SYSTEMD_ENV)
    result = report(run, env, "failure", "rex-pgdump", "--from-systemd", "--log", str(log))
    assert result.returncode == 0, result.err
    [hc] = [r for r in server.requests if r["path"].startswith("/hc/")]
    assert hc["path"] == "/hc/UUID/69?rid=0f8fad5b-d9cb-469f-a165-70867728950e"
    assert b"pg_dump: program not found" in hc["body"]


def test_from_systemd_reads_the_journal_of_the_failed_run(run, rex_env, server, tmp_path):
    fakes = tmp_path / "fakebin"
    fakes.mkdir()
    argv_file = tmp_path / "journalctl-argv"
    fake_program(fakes, "journalctl", f'printf "%s\\n" "$@" > {argv_file}\n'
                 'echo "rex-pgdump: error: server closed the connection"\n')
    all_monitors(rex_env, server.url)
    env = dict(rex_env, PATH=f"{fakes}:{rex_env['PATH']}", **dict(SYSTEMD_ENV, MONITOR_SERVICE_RESULT="signal",
                                                                  MONITOR_EXIT_CODE="killed",
                                                                  MONITOR_EXIT_STATUS="TERM"))
    result = report(run, env, "failure", "rex-pgdump", "--from-systemd")
    assert result.returncode == 0, result.err
    argv = argv_file.read_text().splitlines()
    assert argv[-1] == "_SYSTEMD_INVOCATION_ID=0f8fad5bd9cb469fa16570867728950e" and "20" in argv
    [hook] = [json.loads(r["body"]) for r in server.requests if r["path"] == "/hook"]
    assert hook["exit_status"] is None and hook["reason"] == "killed by SIGTERM"
    assert hook["log_tail"] == "rex-pgdump: error: server closed the connection"
    assert any(r["path"].startswith("/hc/UUID/fail") for r in server.requests)


@pytest.fixture
def trickler():
    """A monitor that answers one byte every 0.2 s, forever: no single read ever times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve(conn):
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10000:
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


@pytest.mark.slow
def test_monitor_given_up_on_is_named_without_its_secret_url(run, rex_env, trickler):
    write_config(rex_env, f"""
        report:
          monitors:
            - healthchecks: {trickler}/SECRET-UUID
          timeout: 0.5s
          retries: 0
    """)
    result = report(run, rex_env, "failure", "rex-pgdump", "--exit-status", "3", timeout=60)
    assert result.returncode == 0
    [line] = warnings(result)
    assert "gave up" in line and "healthchecks 127.0.0.1" in line, line
    assert "SECRET" not in result.err


# --- the run history rex-web reads ----------------------------------------------------------------

def history_runs(env):
    from rex.monitor.history import RunHistory

    path = os.path.join(env["XDG_STATE_HOME"], "rex", "history.sqlite")
    with RunHistory(path) as history:
        return history.runs()


def test_run_records_its_start_and_its_failure_with_the_log_tail_and_still_reports(run, rex_env, server):
    all_monitors(rex_env, server.url)
    result = report(run, rex_env, "run", "rex-pgdump", "--", "/bin/bash", "-o", "pipefail", "-c",
                    PIPELINE_FIRST_STAGE_FAILS)
    assert result.returncode == 4
    assert {r["path"].split("?")[0] for r in server.requests} == {"/hc/UUID/start", "/hc/UUID/4",
                                                                  "/ntfy/rex-studio", "/hook"}
    [recorded] = history_runs(rex_env)
    rid = next(json.loads(r["body"]) for r in server.requests if r["path"] == "/hook")["run_id"]
    assert recorded["run_id"] == rid and recorded["job"] == "rex-pgdump"
    assert recorded["host"] == socket.gethostname() and recorded["status"] == "failure"
    assert recorded["exit_code"] == 4 and "first stage: pg_dump: connection refused" in recorded["log_tail"]
    assert recorded["started"].endswith("Z") and recorded["ended"] >= recorded["started"]
    assert recorded["duration_s"] >= 0


def test_with_no_monitor_configured_every_event_is_still_recorded(run, rex_env, tmp_path):
    assert report(run, rex_env, "run", "rex-verify", "--", "true").returncode == 0
    assert report(run, rex_env, "start", "rex-upload").returncode == 0
    log_file = tmp_path / "upload.log"
    log_file.write_text("copying\nrclone: 401 Unauthorized\n")
    result = report(run, rex_env, "failure", "rex-upload", "--exit-status", "77", "--log", str(log_file))
    assert result.returncode == 0 and result.err == ""
    upload, verify = history_runs(rex_env)
    assert (verify["job"], verify["status"], verify["log_tail"]) == ("rex-verify", "success", "")
    assert verify["started"] is not None and verify["ended"] is not None
    assert (upload["job"], upload["status"], upload["exit_code"]) == ("rex-upload", "failure", 77)
    assert upload["started"] is not None and upload["log_tail"].endswith("rclone: 401 Unauthorized")


def test_a_history_that_cannot_be_written_is_a_warning_never_the_jobs_failure(run, rex_env, tmp_path):
    (tmp_path / "not-a-dir").write_text("")
    env = dict(rex_env, XDG_STATE_HOME=str(tmp_path / "not-a-dir"))
    result = report(run, env, "run", "rex-verify", "--", "sh", "-c", "exit 3")
    assert result.returncode == 3
    assert [line.split(" of ")[0] for line in result.err.splitlines()] == ["rex-report: warning: start",
                                                                            "rex-report: warning: failure"]
    assert all("not recorded in the run history: " in line for line in result.err.splitlines())
