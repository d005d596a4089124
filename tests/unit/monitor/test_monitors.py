"""rex.monitor: the pure decisions (URLs, requests, tails, systemd facts, journalctl argv)
and the validation of report.* in the configuration."""

import json
import textwrap
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from rex.config import parse_file
from rex.monitor import event as events
from rex.monitor import healthchecks, http, ntfy, systemd, webhook

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=timezone.utc)
RID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def ev(kind, **kw):
    return events.make("rex-pgdump", kind, now=NOW, host="db1", **kw)


# --- healthchecks ---------------------------------------------------------------------------

def test_healthchecks_urls_per_event():
    base = "https://hc.example/ping/abc"
    assert healthchecks.ping_url(base, ev("start")) == base + "/start"
    assert healthchecks.ping_url(base, ev("success")) == base
    assert healthchecks.ping_url(base, ev("failure", exit_status=3)) == base + "/3"
    assert healthchecks.ping_url(base, ev("failure")) == base + "/fail"
    assert healthchecks.ping_url(base, ev("failure", exit_status=0, reason="timeout")) == base + "/fail"
    assert healthchecks.ping_url(base + "/", ev("start", run_id=RID)) == f"{base}/start?rid={RID}"
    assert (healthchecks.ping_url("https://hc.example/ping/KEY/slug?create=1", ev("failure", exit_status=1))
            == "https://hc.example/ping/KEY/slug/1?create=1")


@given(kind=st.sampled_from(["start", "success", "failure"]), status=st.one_of(st.none(), st.integers(0, 300)),
       query=st.sampled_from(["", "create=1"]), rid=st.one_of(st.none(), st.uuids().map(str)))
def test_healthchecks_url_keeps_base_and_marks_only_failures(kind, status, query, rid):
    base = "https://hc.example/ping/abc" + (f"?{query}" if query else "")
    url = healthchecks.ping_url(base, ev(kind, exit_status=status, run_id=rid))
    path, _, q = url.partition("?")
    assert path.startswith("https://hc.example/ping/abc")
    suffix = path[len("https://hc.example/ping/abc"):]
    if kind == "success":
        assert suffix == ""
    elif kind == "start":
        assert suffix == "/start"
    else:
        assert suffix == (f"/{status}" if status is not None and 1 <= status <= 255 else "/fail")
    assert (query in q) and ((f"rid={rid}" in q) == bool(rid))


def test_healthchecks_body_is_title_and_tail():
    req = healthchecks.request("https://hc.example/p/x", ev("failure", exit_status=2, log_tail="a\nb"))
    assert req.method == "POST" and req.body == b"rex-pgdump failed on db1 (exit 2)\na\nb"


# --- ntfy and webhook -----------------------------------------------------------------------------

def test_ntfy_headers_and_priority():
    req = ntfy.request("https://ntfy.example/t", ev("failure", exit_status=1, log_tail="boom"), token="tk")
    assert req.headers["Title"] == "rex-pgdump failed on db1 (exit 1)"
    assert req.headers["Priority"] == "high" and req.headers["Authorization"] == "Bearer tk"
    assert req.body == b"boom"
    assert ntfy.request("https://ntfy.example/t", ev("success")).headers["Priority"] == "default"
    assert "Authorization" not in ntfy.request("https://ntfy.example/t", ev("start")).headers


def test_ntfy_title_header_is_ascii_or_rfc2047():
    encoded = ntfy.header_text("rex-export failed on mac-élodie")
    assert encoded.isascii() and encoded.startswith("=?UTF-8?B?")
    assert ntfy.header_text("plain\ntext") == "plain text"


def test_webhook_json_fields():
    req = webhook.request("https://hooks.example/x", ev("failure", exit_status=4, log_tail="tail", run_id=RID))
    data = json.loads(req.body)
    assert data == {"job": "rex-pgdump", "event": "failure", "exit_status": 4, "reason": None, "host": "db1",
                    "time": "2026-11-21T12:00:00Z", "run_id": RID, "title": "rex-pgdump failed on db1 (exit 4)",
                    "log_tail": "tail"}
    assert req.headers["Content-Type"] == "application/json"


# --- tails --------------------------------------------------------------------------------

@given(text=st.text(), limit=st.integers(0, 64))
def test_clip_utf8_is_the_longest_fitting_end(text, limit):
    clipped = events.clip_utf8(text, limit)
    data = clipped.encode("utf-8")
    assert len(data) <= limit and text.endswith(clipped)
    if len(text.encode("utf-8")) <= limit:
        assert clipped == text
    elif len(clipped) < len(text):
        # one more character would not fit
        assert len(text[len(text) - len(clipped) - 1:].encode("utf-8")) > limit


@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=5), max_size=30),
       count=st.integers(0, 40))
def test_last_lines(lines, count):
    text = "\n".join(lines)
    tail = events.last_lines(text + "\n", count)
    if count == 0 or not text.strip():
        assert tail == ""
    else:
        assert tail == "\n".join(text.rstrip("\n").split("\n")[-count:])


def test_event_text_fits_the_limit():
    event = ev("failure", exit_status=1, log_tail="é" * 100_000)
    body = event.text(events.MAX_BODY).encode("utf-8")
    assert len(body) <= events.MAX_BODY and body.startswith(b"rex-pgdump failed")


def test_budget_bounds_a_down_monitor():
    assert http.budget(10, 2) == 3 * 20 + 1.0
    assert http.budget(1, 0) == 2


# --- systemd ------------------------------------------------------------------------------

def test_failure_facts_from_monitor_variables():
    env = {"MONITOR_SERVICE_RESULT": "exit-code", "MONITOR_EXIT_CODE": "exited", "MONITOR_EXIT_STATUS": "75",
           "MONITOR_INVOCATION_ID": "0f8fad5bd9cb469fa16570867728950e", "MONITOR_UNIT": "rex-pgdump.service"}
    facts = systemd.failure_facts(env, "rex-pgdump")
    assert (facts.exit_status, facts.reason, facts.unit) == (75, None, "rex-pgdump.service")
    assert events.run_id_from(facts.invocation_id) == RID


def test_failure_facts_signals_timeouts_and_old_systemd():
    killed = systemd.failure_facts({"MONITOR_SERVICE_RESULT": "signal", "MONITOR_EXIT_CODE": "killed",
                                    "MONITOR_EXIT_STATUS": "TERM"}, "rex-verify")
    assert killed.exit_status is None and killed.reason == "killed by SIGTERM"
    timeout = systemd.failure_facts({"MONITOR_SERVICE_RESULT": "timeout", "MONITOR_EXIT_CODE": "killed",
                                     "MONITOR_EXIT_STATUS": "9"}, "rex-verify")
    assert timeout.reason == "timeout, killed by SIGKILL"
    old = systemd.failure_facts({}, "rex-pgdump@studio-b")
    assert (old.exit_status, old.reason, old.invocation_id, old.unit) == (
        None, None, None, "rex-pgdump@studio-b.service")


def test_journal_argv():
    inv = "0f8fad5bd9cb469fa16570867728950e"
    base = ["journalctl", "--no-pager", "--quiet", "-o", "cat", "-n", "20"]
    assert systemd.journal_argv("rex-pgdump.service", inv, 20, user=False) == base + [f"_SYSTEMD_INVOCATION_ID={inv}"]
    assert systemd.journal_argv("rex-export.service", inv, 20, user=True) == base + [
        "--user", f"_SYSTEMD_INVOCATION_ID={inv}"]
    assert systemd.journal_argv("rex-pgdump.service", None, 20, user=False) == base + ["--unit", "rex-pgdump.service"]
    assert systemd.journal_argv("rex-export.service", None, 20, user=True) == base + [
        "--user-unit", "rex-export.service"]


# --- configuration --------------------------------------------------------------------------

def problems(tmp_path, text):
    path = tmp_path / "rex.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    values, found = parse_file(str(path))
    return values, [(p.line, p.column, p.message) for p in found]


def test_monitors_parse_with_defaults(tmp_path):
    values, found = problems(tmp_path, """
        report:
          monitors:
            - healthchecks: https://hc.example/ping/abc
            - ntfy: ${NTFY_URL}
              token_env: NTFY_TOKEN
            - desktop: true
          jobs:
            rex-verify: []
    """)
    assert found == []
    monitors = values["report.monitors"][0]
    assert [(m["kind"], m["target"], m["events"]) for m in monitors] == [
        ("healthchecks", "https://hc.example/ping/abc", ["start", "success", "failure"]),
        ("ntfy", "$NTFY_URL", ["failure"]), ("desktop", True, ["failure"])]
    assert values["report.jobs"][0] == {"rex-verify": []}


def test_monitor_errors_cite_line_and_column(tmp_path):
    _, found = problems(tmp_path, """
        report:
          monitors:
            - healthchecks: https://hc.example/x
            - slack: https://hooks.slack.example/x
    """)
    assert found == [(4, 7, "report.monitors: monitor 2: unknown monitor kind 'slack' "
                            "(one of: healthchecks, ntfy, webhook, desktop)")]
    _, found = problems(tmp_path, """
        report:
          jobs:
            rex-pgdump:
              - webhook: hooks.example/x
    """)
    assert found == [(4, 18, "report.jobs: rex-pgdump: monitor 1: webhook needs an http:// or https:// URL, "
                             "not 'hooks.example/x'")]
    _, found = problems(tmp_path, """
        report:
          monitors:
            - ntfy: https://ntfy.example/t
              event: [failure]
    """)
    assert found == [(4, 7, "report.monitors: monitor 1: unknown key 'event' for ntfy (did you mean 'events'?)")]
    _, found = problems(tmp_path, """
        report:
          monitors:
            - healthchecks: https://hc.example/x
              events: [failed]
    """)
    assert found[0][:2] == (4, 15) and "unknown event 'failed'" in found[0][2]


def test_a_token_file_is_read_when_sending_and_wins_over_the_environment(tmp_path):
    from rex.monitor.dispatch import prepare

    token_file = tmp_path / "web.token"
    token_file.write_text("file-t0ken\nignored\n")
    monitor = {"kind": "webhook", "target": "http://backup1:8470/api/v1/events", "events": ["start"],
               "token": "plain", "token_env": "HOOK_TOKEN", "token_file": str(token_file)}
    event = events.make("rex-pgdump", "start", host="bay7")
    request = prepare(monitor, event, {"HOOK_TOKEN": "env-t0ken"})
    assert request.headers["Authorization"] == "Bearer file-t0ken"
    assert prepare(dict(monitor, token_file=None), event, {"HOOK_TOKEN": "env-t0ken"}).headers["Authorization"] \
        == "Bearer env-t0ken"
    missing = prepare(dict(monitor, token_file=str(tmp_path / "nope")), event, {})
    assert missing == f"token_file {tmp_path / 'nope'}: No such file or directory"
    token_file.write_text("two words\n")
    bad = prepare(monitor, event, {})
    assert isinstance(bad, str) and "two words" not in bad and "printable ASCII without spaces" in bad
