"""rex-web as users run it: the real command on a real tree (tests/webtree.py), over real
HTTP on a free loopback port; systemd's notify socket; the token; hostile requests."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import BIN, run_cmd, user_env
from webserver import WebServer
from builttree import FAILURE_TAIL, build

TOKEN = "t0ken-for-the-tests-5f1c2a"


@pytest.fixture(scope="module")
def tree_env(tmp_path_factory, pg_cluster):
    return build(str(tmp_path_factory.mktemp("webtree")), pg_cluster)


@pytest.fixture(scope="module")
def web(tree_env):
    with WebServer(tree_env) as server:
        yield server


@pytest.fixture
def empty_env(tmp_path):
    env = user_env(tmp_path)
    os.makedirs(env["REX_BACKUP_ROOT"])
    return env


def beyond_loopback_address():
    """A non-loopback address of this machine to listen on, or skip."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))      # TEST-NET: no packet is sent by a UDP connect
        address = probe.getsockname()[0]
    except OSError:
        pytest.skip("no network interface beyond loopback")
    finally:
        probe.close()
    if address.startswith("127."):
        pytest.skip("no network interface beyond loopback")
    return address


# --- what it serves --------------------------------------------------------------------------

def test_sets_show_every_state_and_filter(web):
    status, body = web.json("/api/v1/sets")
    assert status == 200
    states = {s["name"] + s["ext"]: s["state"] for s in body["sets"]}
    assert states == {"Resolve Projects.backup": "OK", "Commercials 2026.backup": "FAILED",
                      "handover-notes.txt": "STALE", "grade-stills.txt": "UNVERIFIED", "Demo.drp": "OK",
                      "Spot.drp": "OK"}
    assert body["total"] == 6
    assert [s["state"] for s in body["sets"]] == ["FAILED", "STALE", "UNVERIFIED", "OK", "OK", "OK"]   # worst first
    demo = next(s for s in body["sets"] if s["name"] == "Demo")
    assert (demo["kind"], demo["project"], demo["count"]) == ("export", "Demo", 2)
    assert demo["saved_bytes"] == demo["bytes"] > 0               # the second export is a dedupe link
    status, failed = web.json("/api/v1/sets?state=FAILED")
    assert [s["library"] for s in failed["sets"]] == ["Commercials 2026"] and failed["total"] == 6
    assert any("checksum mismatch" in r for r in failed["sets"][0]["reasons"])
    status, found = web.json("/api/v1/sets?q=RESOLVE&sort=-name")
    assert [s["name"] for s in found["sets"]] == ["Resolve Projects"]
    status, one = web.json("/api/v1/sets/" + found["sets"][0]["id"])
    assert status == 200 and one["name"] == "Resolve Projects" and one["state"] == "OK"


def test_health_is_critical_with_reasons_and_503(web):
    status, health = web.json("/api/v1/health")
    assert status == 503 and health["verdict"] == "CRITICAL"
    assert any("FAILED" in r for r in health["reasons"])
    assert any("rex-pgdump failed" in r for r in health["reasons"])


def test_health_of_a_good_tree_is_200(tmp_path, pg_cluster):
    env = user_env(tmp_path, **pg_cluster.env())
    dumped = run_cmd("rex-pgdump", "-Z", "0", "Resolve Projects", env=env)
    assert run_cmd("rex-verify", env=env, input=dumped.out).returncode == 0
    with WebServer(env) as server:
        status, health = server.json("/api/v1/health")
    assert (status, health) == (200, {"verdict": "OK", "reasons": []})


def test_jobs_carry_the_failure_s_log_tail(web):
    status, body = web.json("/api/v1/jobs?status=failure")
    assert status == 200
    [run] = body["runs"]
    assert run["job"] == "rex-pgdump" and run["exit_code"] == 69 and FAILURE_TAIL in run["log_tail"]
    status, body = web.json("/api/v1/jobs?limit=1")
    assert len(body["runs"]) == 1


def test_page_shows_verdict_states_tail_and_unconfigured_sections(web):
    status, headers, body = web.request("/")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "<h1>CRITICAL</h1>" in page
    for state in ("OK", "FAILED", "STALE", "UNVERIFIED"):
        assert f">{state}</span>" in page
    assert "pg_dump: error: connection to server on socket lost" in page
    assert page.count("not configured") == 2            # standby and farm
    assert "<script" not in page                        # works without JavaScript
    assert 'name=viewport' in page
    status, _, body = web.request("/?state=STALE&library=&project=&q=&sort=")   # the form, as a browser sends it
    table = body.decode().split("<section id=sets>", 1)[1].split("</section>", 1)[0]
    assert status == 200 and "handover-notes" in table and "grade-stills" not in table


def test_standby_and_farm_say_not_configured(web):
    assert web.json("/api/v1/standby") == (200, {"configured": False})
    assert web.json("/api/v1/farm") == (200, {"configured": False})


def test_metrics_are_prometheus_text(web):
    from prometheus_client.parser import text_string_to_metric_families

    status, headers, body = web.request("/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert samples[("rex_verdict", (("verdict", "CRITICAL"),))] == 1
    assert samples[("rex_backup_sets", (("state", "FAILED"),))] == 1
    assert samples[("rex_backup_sets", (("state", "OK"),))] == 3
    assert samples[("rex_job_last_run_status", (("host", socket.gethostname()), ("job", "rex-pgdump"),
                                                ("status", "failure")))] == 1
    assert any(name == "process_resident_memory_bytes" for name, _ in samples)


def test_nothing_changes_a_backup(web):
    for path in ("/", "/api/v1/sets", "/api/v1/health", "/metrics"):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            status, _, _ = web.request(path, method=method, body=b"{}")
            assert status == 405, (method, path)


# --- as a service ------------------------------------------------------------------------------

def test_ready_when_listening_then_watchdog_and_stopping(empty_env, notify_socket):
    env = dict(empty_env, **notify_socket.env(WATCHDOG_USEC="200000"))
    server = WebServer(env).start()
    try:
        ready = notify_socket.wait_for("READY", "1")
        assert server.url in ready["STATUS"]
        # READY came once the socket listened: it answers at once
        assert server.json("/api/v1/health")[0] in (200, 503)
        first = len(notify_socket.messages)
        notify_socket.wait_for("WATCHDOG", "1")
        time.sleep(0.5)
        notify_socket.receive(0.2)
        pings = [m for m in notify_socket.messages[first:] if m.get("WATCHDOG") == "1"]
        assert len(pings) >= 2, notify_socket.messages
    finally:
        code = server.stop()
    assert code == 0, server.stderr
    notify_socket.wait_for("STOPPING", "1")


def test_help_is_fast_and_imports_no_web_stack(empty_env):
    result = subprocess.run([sys.executable, "-X", "importtime", os.path.join(BIN, "rex-web"), "--help"],
                            env=empty_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 0
    assert "--listen" in result.stdout and "REX_WEB_TOKEN" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {m for m in imported if m.split(".")[0] in ("starlette", "uvicorn", "prometheus_client", "anyio")}


def test_port_in_use_is_75(empty_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cmd("rex-web", "--listen", f"127.0.0.1:{port}", env=empty_env, timeout=60)
    assert result.returncode == 75, result.err
    assert result.err.count("\n") == 1 and f"127.0.0.1:{port}" in result.err


@pytest.mark.parametrize("value", ["8470", "host:port", "[::1]8470", "127.0.0.1:70000"])
def test_bad_listen_option_is_64(empty_env, value):
    result = run_cmd("rex-web", "--listen", value, env=empty_env, timeout=60)
    assert result.returncode == 64 and result.err.startswith("rex-web: error: --listen"), result.err


def test_bad_listen_in_the_config_is_78(empty_env, tmp_path):
    config = tmp_path / "rex.yaml"
    config.write_text("web:\n  listen: nowhere\n")
    result = run_cmd("rex-web", "-c", str(config), env=empty_env, timeout=60)
    assert result.returncode == 78 and "web.listen" in result.err, result.err


# --- the token ---------------------------------------------------------------------------------

def test_beyond_loopback_without_a_token_refuses_to_start(empty_env):
    result = run_cmd("rex-web", "--listen", "0.0.0.0:0", env=empty_env, timeout=60)
    assert result.returncode == 78, result.err
    assert "beyond loopback" in result.err and "REX_WEB_TOKEN" in result.err
    assert result.err.count("\n") == 1


def test_token_file_problems_are_78_and_never_show_the_token(empty_env, tmp_path):
    config = tmp_path / "rex.yaml"
    config.write_text(f"web:\n  token_file: {tmp_path / 'missing'}\n")
    result = run_cmd("rex-web", "-c", str(config), env=empty_env, timeout=60)
    assert result.returncode == 78 and "missing" in result.err
    result = run_cmd("rex-web", env=dict(empty_env, REX_WEB_TOKEN="has a space"), timeout=60)
    assert result.returncode == 78 and "has a space" not in result.err


@pytest.fixture(scope="module")
def guarded(tree_env):
    """rex-web beyond loopback with its token, given in a file named by the configuration."""
    base = os.path.dirname(tree_env["REX_BACKUP_ROOT"])
    token_file = os.path.join(base, "web-token")
    with open(token_file, "w", encoding="utf-8") as f:
        f.write(TOKEN + "\n")
    config = os.path.join(base, "guarded.yaml")
    with open(config, "w", encoding="utf-8") as f:
        f.write(f"web:\n  token_file: {token_file}\n")
    address = beyond_loopback_address()
    with WebServer(tree_env, "-c", config, listen=f"{address}:0") as server:
        yield server


PATHS = ["/", "/api/v1/sets", "/api/v1/sets/x", "/api/v1/jobs", "/api/v1/standby", "/api/v1/farm",
         "/api/v1/health", "/metrics", "/api/v1/openapi.json", "/no/such/page"]


@pytest.mark.parametrize("path", PATHS)
def test_beyond_loopback_every_request_needs_the_token(guarded, path):
    status, headers, body = guarded.request(path)
    assert status == 401 and "Basic" in headers["www-authenticate"]
    assert guarded.request(path, token="wrong-" + TOKEN)[0] == 401
    assert guarded.request(path, headers={"Authorization": "Basic " + _b64("admin:nope")})[0] == 401
    assert guarded.request(path, token=TOKEN)[0] in (200, 404, 503)
    # a browser's login prompt: any user, the token as password
    assert guarded.request(path, headers={"Authorization": "Basic " + _b64("admin:" + TOKEN)})[0] in (200, 404, 503)


def test_the_token_never_appears_in_any_answer_nor_in_argv(guarded):
    for path in PATHS:
        _status, headers, body = guarded.request(path, token=TOKEN)
        assert TOKEN not in body.decode("utf-8", "replace") and TOKEN not in json.dumps(headers)
    with open(f"/proc/{guarded.proc.pid}/cmdline", "rb") as f:
        assert TOKEN.encode() not in f.read()
    assert TOKEN not in guarded.stderr


def _b64(text):
    import base64

    return base64.b64encode(text.encode()).decode()


# --- hostile requests --------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/sets/..%2F..%2F..%2Fetc%2Fpasswd", "/api/v1/sets/%2e%2e",
                                  "/api/v1/sets/..", "/api/v1/sets/%00", "/api/v1/sets/" + "a" * 5000,
                                  "/api/v1/sets/../../../../etc/passwd", "/..%2f..%2fetc/passwd"])
def test_path_traversal_finds_nothing(web, path):
    status, headers, body = web.request(path)
    assert status in (400, 404), (path, status)
    assert b"root:" not in body and headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("query", ["library=../../../etc", "q=%2e%2e%2f%2e%2e%2fetc%2fpasswd", "project=%00",
                                   "library=" + "x" * 201, "state=../OK", "sort=../../etc/passwd",
                                   "state=OK&state=FAILED", "evil=1"])
def test_hostile_filters_are_refused_or_match_nothing(web, query):
    status, body = web.json("/api/v1/sets?" + query)
    assert status == 400 or (status == 200 and body["sets"] == []), (query, status, body)
    if status == 400:
        assert set(body) == {"error"} and "\n" not in body["error"]


def event(host, kind="failure", job="rex-export", **extra):
    return dict({"job": job, "event": kind, "host": host, "time": "2026-12-03T10:00:00Z", "exit_status": 1,
                 "log_tail": "export failed: disk full"}, **extra)


def post(server, body, token=TOKEN, content_type="application/json", **kwargs):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return server.request("/api/v1/events", method="POST", body=data, token=token,
                          headers={"Content-Type": content_type}, **kwargs)


def test_an_event_post_is_recorded_for_its_host(guarded):
    assert guarded.json("/api/v1/jobs?host=bay3", token=TOKEN) == (200, {"runs": []})
    # answered again within a second, unless a post came in between
    status, _, body = post(guarded, [event("bay3", "start", run_id="r-1"), event("bay3", "failure", run_id="r-1")])
    assert status == 202 and json.loads(body) == {"recorded": 2}
    status, runs = guarded.json("/api/v1/jobs?host=bay3", token=TOKEN)
    [run] = runs["runs"]
    assert run["status"] == "failure" and run["log_tail"] == "export failed: disk full"


def test_a_post_never_writes_another_host_s_runs(guarded):
    before = guarded.json(f"/api/v1/jobs?host={socket.gethostname()}", token=TOKEN)[1]["runs"]
    # a post that also speaks for another host is refused whole
    status, _, body = post(guarded, [event("bay4"), event(socket.gethostname(), "success", job="rex-pgdump")])
    assert status == 400 and "bay4" in json.loads(body)["error"]
    assert guarded.json("/api/v1/jobs?host=bay4", token=TOKEN)[1]["runs"] == []
    # closing another host's run by its run id opens a run of the poster's own instead
    victim = before[0]
    status, _, _ = post(guarded, event("bay5", "success", job=victim["job"], run_id=victim["run_id"]))
    assert status == 202
    after = guarded.json(f"/api/v1/jobs?host={socket.gethostname()}", token=TOKEN)[1]["runs"]
    assert after == before


@pytest.mark.parametrize("host", ["../../etc", "bay/../../x", "", "a b", "x" * 300, "-bay"])
def test_a_hostile_host_name_is_refused(guarded, host):
    status, _, body = post(guarded, event(host))
    assert status == 400, body


def test_huge_posts_are_413_without_reading_them(guarded):
    huge = json.dumps(event("bay3", log_tail="x" * 300_000)).encode()
    status, _, body = post(guarded, huge)
    assert status == 413 and "larger than" in json.loads(body)["error"]
    # the same without a Content-Length (chunked): cut off at the limit all the same
    chunks = iter([huge[i:i + 65536] for i in range(0, len(huge), 65536)])
    status, _, body = _chunked(guarded, chunks)
    assert status == 413


def _chunked(server, chunks):
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("POST", "/api/v1/events", body=chunks, encode_chunked=True,
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}",
                          "Transfer-Encoding": "chunked"})
    answer = conn.getresponse()
    return answer.status, dict(answer.headers), answer.read()


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[]", b"null", b"42", b'"x"', b'{"job": "x"}',
                                  json.dumps([event("bay3")] * 101).encode(),
                                  json.dumps(event("bay3", event="explode")).encode(),
                                  json.dumps(event("bay3", time="yesterday")).encode(),
                                  json.dumps(event("bay3", exit_status=-1)).encode()])
def test_malformed_posts_are_400_in_one_line(guarded, body):
    status, _, answer = post(guarded, body)
    assert status == 400, answer
    assert "\n" not in json.loads(answer)["error"]


def test_posts_need_the_token_and_json(guarded, web):
    assert post(guarded, event("bay3"), token=None)[0] == 401
    assert post(guarded, event("bay3"), token="wrong")[0] == 401
    assert post(guarded, event("bay3"), content_type="text/plain")[0] == 415
    # a server without a token takes no events at all
    status, _, body = post(web, event("bay3"), token=None)
    assert status == 403 and "token" in json.loads(body)["error"]


def test_rex_report_s_webhook_posts_into_the_page(guarded, tmp_path):
    """A bay's rex-report, with a webhook monitor pointed at rex-web, puts its runs on the page."""
    env = user_env(tmp_path, REX_WEB_TOKEN=TOKEN)
    config = tmp_path / "config" / "rex" / "rex.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("report:\n  monitors:\n    - webhook: " + guarded.url + "api/v1/events\n"
                      "      token_env: REX_WEB_TOKEN\n")
    log = tmp_path / "export.log"
    log.write_text("rex-export: Resolve is not running\n")
    for argv in (["start", "rex-export-bay7"], ["failure", "rex-export-bay7", "--exit-status", "75", "--log", str(log)]):
        result = run_cmd("rex-report", *argv, env=env, timeout=60)
        assert result.returncode == 0 and result.err == "", result.err
    status, runs = guarded.json("/api/v1/jobs?job=rex-export-bay7", token=TOKEN)
    [run] = runs["runs"]
    assert run["status"] == "failure" and run["exit_code"] == 75 and "Resolve is not running" in run["log_tail"]
    assert run["host"] == socket.gethostname()


def test_no_secret_of_the_configuration_is_served(tree_env, tmp_path):
    """Monitor URLs and tokens, the remote and its configuration, the token: in no answer."""
    secrets = ["hc-s3cret-uuid", "ntfy-s3cret-token", "hook-s3cret-path", "rclone-s3cret.conf", TOKEN]
    config = tmp_path / "rex.yaml"
    config.write_text(f"""\
report:
  monitors:
    - healthchecks: https://hc-ping.com/{secrets[0]}
    - ntfy: https://ntfy.sh/studio
      token: {secrets[1]}
    - webhook: https://user:pw@hooks.example/{secrets[2]}
upload:
  remote: sf:tree
  rclone_config: {tmp_path / secrets[3]}
""")
    env = dict(tree_env, REX_WEB_TOKEN=TOKEN)
    with WebServer(env, "-c", str(config)) as server:
        bodies = [server.request(path, token=TOKEN)[2].decode("utf-8", "replace")
                  for path in PATHS + ["/api/v1/sets?state=FAILED", "/api/v1/jobs?limit=1000"]]
        stderr = server.stderr
    for secret in secrets:
        assert not any(secret in body for body in bodies), secret
        assert secret not in stderr


def test_ipv6_loopback_needs_no_token(empty_env):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    with WebServer(empty_env, listen="[::1]:0") as server:
        assert server.url.startswith("http://[::1]:")
        assert server.json("/api/v1/standby") == (200, {"configured": False})


# --- each host posts with its own token (web.hosts) ---------------------------------------------

HOST_TOKENS = {"bay-a": "bay-a-t0ken-9d1e77", "bay-b": "bay-b-t0ken-41c0aa", socket.gethostname(): "self-t0ken-c3b2"}


def _hosted_config(base, hosts=HOST_TOKENS, shared=TOKEN, name="hosted.yaml"):
    """A configuration with the shared token and a token file per host; its path."""
    lines = []
    if shared is not None:
        with open(os.path.join(base, "shared-token"), "w", encoding="utf-8") as f:
            f.write(shared + "\n")
        lines.append(f"  token_file: {os.path.join(base, 'shared-token')}")
    lines.append("  hosts:")
    for n, (host, token) in enumerate(hosts.items()):
        path = os.path.join(base, f"host-{n}.token")
        if token is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(token + "\n")
        lines.append(f"    {host}: {path}")
    config = os.path.join(base, name)
    with open(config, "w", encoding="utf-8") as f:
        f.write("web:\n" + "\n".join(lines) + "\n")
    return config


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    """rex-web with a shared token and a token per posting host, and every answer it gave."""
    base = str(tmp_path_factory.mktemp("hosted"))
    env = user_env(base)
    os.makedirs(env["REX_BACKUP_ROOT"])
    server = WebServer(env, "-c", _hosted_config(base))
    server.base, server.answers = base, []
    request = server.request

    def recorded(*args, **kwargs):
        answer = request(*args, **kwargs)
        server.answers.append(answer)
        return answer

    server.request = recorded
    with server:
        yield server


def _runs(server, host):
    status, body = server.json(f"/api/v1/jobs?host={host}&limit=1000", token=TOKEN)
    assert status == 200
    return body["runs"]


def test_a_host_s_token_writes_that_host_s_runs(hosted):
    token_a = HOST_TOKENS["bay-a"]
    status, _, body = post(hosted, [event("bay-a", "start", run_id="a-1"), event("bay-a", "failure", run_id="a-1")],
                           token=token_a)
    assert status == 202 and json.loads(body) == {"recorded": 2}
    [run] = _runs(hosted, "bay-a")
    assert (run["run_id"], run["status"]) == ("a-1", "failure")


def test_a_host_s_token_cannot_write_another_host_s_runs(hosted):
    token_a, token_b = HOST_TOKENS["bay-a"], HOST_TOKENS["bay-b"]
    assert post(hosted, event("bay-b", "start", job="rex-verify", run_id="b-1"), token=token_b)[0] == 202
    before_a, before_b = _runs(hosted, "bay-a"), _runs(hosted, "bay-b")
    assert [r["run_id"] for r in before_b] == ["b-1"]
    for body in (event("bay-b", "success", job="rex-verify", run_id="b-1"),           # ends B's run
                 event("bay-b", "start", job="forged"),                               # a run of B's
                 [event("bay-a", "start", job="mine"), event("bay-b", "start", job="forged")],   # mixed
                 {"events": [event("bay-b", "failure", job="rex-verify")]}):
        status, headers, answer = post(hosted, body, token=token_a)
        error = json.loads(answer)["error"]
        assert status == 403 and "\n" not in error and "bay-b" in error, (status, answer)
        assert headers["content-type"].startswith("application/json")
    assert _runs(hosted, "bay-b") == before_b and _runs(hosted, "bay-a") == before_a


def test_a_host_s_token_reads_nothing(hosted):
    for path in ("/", "/api/v1/jobs", "/api/v1/sets", "/api/v1/health", "/metrics"):
        assert hosted.request(path, token=HOST_TOKENS["bay-a"])[0] == 401, path


def test_the_shared_token_posts_only_for_hosts_without_their_own(hosted):
    status, _, answer = post(hosted, event("bay-a", "start", job="forged-by-shared"))
    assert status == 403 and "own token" in json.loads(answer)["error"]
    assert not any(r["job"] == "forged-by-shared" for r in _runs(hosted, "bay-a"))
    assert post(hosted, event("bay-unlisted", "start", job="single-host"))[0] == 202
    assert [r["job"] for r in _runs(hosted, "bay-unlisted")] == ["single-host"]


@pytest.mark.parametrize("token", [None, "nope", HOST_TOKENS["bay-a"] + "x", "bay-a"])
def test_an_unknown_token_posts_nothing_401(hosted, token):
    before = _runs(hosted, "bay-a")
    status, headers, _ = post(hosted, event("bay-a", "start", job="anonymous"), token=token)
    assert status == 401 and "Basic" in headers["www-authenticate"]
    assert _runs(hosted, "bay-a") == before


def test_no_host_token_appears_in_any_answer_log_or_argv(hosted):
    post(hosted, event("bay-a", "start", job="last"), token=HOST_TOKENS["bay-b"])         # a 403
    post(hosted, b"{", token=HOST_TOKENS["bay-a"])                                        # a 400
    secrets = [*HOST_TOKENS.values(), TOKEN]
    assert len(hosted.answers) > 10
    for _status, headers, body in hosted.answers:
        text = body.decode("utf-8", "replace") + json.dumps(headers)
        assert not any(secret in text for secret in secrets)
    with open(f"/proc/{hosted.proc.pid}/cmdline", "rb") as f:
        cmdline = f.read().decode("utf-8", "replace")
    assert not any(secret in cmdline or secret in hosted.stderr for secret in secrets)


def test_rex_report_posts_with_its_host_s_token_file(hosted, tmp_path):
    """A bay's rex-report sends the token web.hosts gives it, read from a file: its runs are
    recorded; with another host's token the post is refused and the job still succeeds."""
    own, other = tmp_path / "own.token", tmp_path / "other.token"
    own.write_text(HOST_TOKENS[socket.gethostname()] + "\n")
    other.write_text(HOST_TOKENS["bay-b"] + "\n")
    env = user_env(tmp_path)
    config = tmp_path / "config" / "rex" / "rex.yaml"
    config.parent.mkdir(parents=True)
    for token_file, job in ((own, "bay-job"), (other, "stolen-job")):
        config.write_text("report:\n  monitors:\n    - webhook: " + hosted.url + "api/v1/events\n"
                          f"      token_file: {token_file}\n")
        result = run_cmd("rex-report", "success", job, env=env, timeout=60)
        assert result.returncode == 0, result.err
        secrets = HOST_TOKENS.values()
        assert not any(secret in result.err for secret in secrets)
        if job == "stolen-job":
            assert "not reported" in result.err and result.err.count("\n") == 1, result.err
    jobs = [r["job"] for r in _runs(hosted, socket.gethostname())]
    assert "bay-job" in jobs and "stolen-job" not in jobs
    config.write_text("report:\n  monitors:\n    - webhook: " + hosted.url + "api/v1/events\n"
                      f"      token_file: {tmp_path / 'missing.token'}\n")
    result = run_cmd("rex-report", "success", "bay-job", env=env, timeout=60)
    assert result.returncode == 0 and "missing.token" in result.err and result.err.count("\n") == 1, result.err


@pytest.mark.parametrize("hosts, shared, says", [
    ({"bay-a": None}, TOKEN, "bay-a"),                                     # the file is missing
    ({"bay-a": "same-t0ken", "bay-b": "same-t0ken"}, TOKEN, "bay-a and bay-b have the same token"),
    ({"bay-a": TOKEN}, TOKEN, "shared token"),
    ({"bay-a": "has a space"}, TOKEN, "bay-a"),
])
def test_a_host_token_that_is_no_host_s_own_stops_rex_web_78(tmp_path, hosts, shared, says):
    env = user_env(tmp_path)
    os.makedirs(env["REX_BACKUP_ROOT"])
    result = run_cmd("rex-web", "-c", _hosted_config(str(tmp_path), hosts, shared), "--listen", "127.0.0.1:0",
                     env=env, timeout=60)
    assert result.returncode == 78 and result.err.count("\n") == 1 and says in result.err, result.err
    assert "web.hosts" in result.err
    assert not any(t and t in result.err for t in [*hosts.values(), shared])
