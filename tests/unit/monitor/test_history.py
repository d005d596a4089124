"""The run history: runs paired from their events, pruned by age and count, and the gate
for events other hosts post (size, schema, one host per post)."""

import json
import os
import sqlite3
import tempfile
from datetime import timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from rex.monitor.event import Event, make
from rex.monitor.history import EARLIEST, LATEST, MAX_POST, RunHistory, Rejected, TooLarge, TAIL_BYTES, iso, parse_time
from rex.monitor.webhook import payload

T0 = parse_time("2026-12-01T10:00:00Z")


def ev(job, kind, at, host="db1", run_id=None, **kw):
    return Event(job=job, kind=kind, host=host, time=iso(T0 + at), run_id=run_id, **kw)


@pytest.fixture
def history(tmp_path):
    with RunHistory(str(tmp_path / "history.sqlite"), keep=None, max_rows=None) as h:
        yield h


def test_a_start_and_its_failure_make_one_run_with_duration_exit_and_tail(history):
    history.record(ev("rex-pgdump", "start", 0, run_id="r1"))
    history.record(ev("rex-pgdump", "failure", 75, run_id="r1", exit_status=4, log_tail="pg_dump: refused"))
    [run] = history.runs()
    assert run == {"run_id": "r1", "job": "rex-pgdump", "host": "db1", "started": "2026-12-01T10:00:00Z",
                   "ended": "2026-12-01T10:01:15Z", "duration_s": 75.0, "status": "failure", "exit_code": 4,
                   "reason": None, "log_tail": "pg_dump: refused"}


def test_without_run_ids_an_end_closes_the_newest_open_run_of_its_job_on_its_host(history):
    history.record(ev("rex-verify", "start", 0))
    history.record(ev("rex-verify", "start", 0, host="bay2"))
    history.record(ev("rex-prune", "start", 5))
    history.record(ev("rex-verify", "success", 30))
    runs = {(r["job"], r["host"]): r for r in history.runs()}
    assert runs["rex-verify", "db1"]["status"] == "success" and runs["rex-verify", "db1"]["duration_s"] == 30
    assert runs["rex-verify", "bay2"]["status"] == "running"       # another host's run is untouched
    assert runs["rex-prune", "db1"]["status"] == "running"


def test_an_end_whose_start_was_lost_is_a_run_of_its_own(history):
    history.record(ev("rex-upload", "failure", 10, run_id="lost", exit_status=75))
    [run] = history.runs()
    assert (run["started"], run["status"], run["exit_code"], run["duration_s"]) == (None, "failure", 75, None)
    history.record(ev("rex-upload", "start", 0, run_id="lost"))      # the start arrives late
    [run] = history.runs()
    assert run["started"] == iso(T0) and run["duration_s"] == 10


def test_a_run_still_open_when_the_next_starts_failed_with_its_end_lost(history):
    history.record(ev("rex-pgdump", "start", 0, run_id="killed"))
    history.record(ev("rex-pgdump", "start", 0, host="bay2", run_id="other-host"))
    history.record(ev("rex-pgdump", "start", 3600, run_id="next"))
    runs = {r["run_id"]: r for r in history.runs()}
    assert (runs["killed"]["status"], runs["killed"]["ended"]) == ("failure", None)
    assert runs["killed"]["reason"] == "no end reported before the next start"
    assert runs["next"]["status"] == runs["other-host"]["status"] == "running"
    history.record(ev("rex-pgdump", "start", 3600, run_id="next"))        # the same start again: no harm
    assert history.runs(status="running", host="db1")[0]["run_id"] == "next"


def test_a_success_keeps_no_log_tail_and_a_failure_keeps_a_bounded_one(history):
    history.record(ev("a", "success", 0, log_tail="noise"))
    history.record(ev("b", "failure", 1, log_tail="é" * TAIL_BYTES))
    runs = {r["job"]: r for r in history.runs()}
    assert runs["a"]["log_tail"] == ""
    assert len(runs["b"]["log_tail"].encode()) <= TAIL_BYTES and runs["b"]["log_tail"].endswith("é")


def test_runs_filter_by_job_host_status_and_limit_newest_first(history):
    for n in range(6):
        history.record(ev(f"job{n % 2}", "start", n * 10, host=f"h{n % 3}", run_id=f"r{n}"))
        if n % 2:
            history.record(ev(f"job{n % 2}", "success", n * 10 + 1, host=f"h{n % 3}", run_id=f"r{n}"))
    assert [r["run_id"] for r in history.runs()] == ["r5", "r4", "r3", "r2", "r1", "r0"]
    assert [r["run_id"] for r in history.runs(limit=2)] == ["r5", "r4"]
    assert [r["run_id"] for r in history.runs(job="job1")] == ["r5", "r3", "r1"]
    assert [r["run_id"] for r in history.runs(host="h0")] == ["r3", "r0"]
    assert [r["run_id"] for r in history.runs(status="running")] == ["r4", "r2", "r0"]


def test_runs_older_than_keep_are_pruned_on_the_next_write(tmp_path):
    with RunHistory(str(tmp_path / "h.sqlite"), keep=86400, max_rows=None) as history:
        history.record(ev("old", "start", 0), now=T0)
        history.record(ev("new", "start", 86400 + 100), now=T0 + 86400 + 100)
        assert [r["job"] for r in history.runs()] == ["new"]


def test_the_history_keeps_at_most_max_rows_the_newest(tmp_path):
    with RunHistory(str(tmp_path / "h.sqlite"), keep=None, max_rows=5) as history:
        for n in range(12):
            history.record(ev("j", "start", n, run_id=f"r{n}"))
        assert [r["run_id"] for r in history.runs()] == [f"r{n}" for n in range(11, 6, -1)]
    assert sqlite3.connect(str(tmp_path / "h.sqlite")).execute("SELECT count(*) FROM runs").fetchone()[0] == 5


# --- ingest: what other hosts post ------------------------------------------------------------

def body(*events):
    return json.dumps([payload(e) for e in events] if len(events) > 1 else payload(events[0])).encode()


def test_the_webhook_body_rex_report_sends_is_ingested_as_is(history):
    start = make("rex-export", "start", run_id="3f0c1e9a-0000-4000-8000-000000000001", host="bay2")
    end = make("rex-export", "failure", exit_status=1, log_tail="Resolve not running",
               run_id="3f0c1e9a-0000-4000-8000-000000000001", host="bay2")
    assert [e.kind for e in history.ingest(body(start), "bay2")] == ["start"]
    history.ingest(json.dumps({"events": [payload(end)]}).encode(), "bay2")
    [run] = history.runs()
    assert (run["host"], run["status"], run["exit_code"], run["log_tail"]) == ("bay2", "failure", 1,
                                                                                 "Resolve not running")


def test_a_post_larger_than_the_limit_is_413_and_records_nothing(history):
    huge = json.dumps(dict(payload(make("j", "failure", host="bay2")), log_tail="x" * MAX_POST)).encode()
    with pytest.raises(TooLarge) as caught:
        history.ingest(huge, "bay2")
    assert caught.value.status == 413 and "\n" not in str(caught.value)
    assert history.runs() == []


@pytest.mark.parametrize("raw, why", [
    (b"", "not JSON"), (b"{", "not JSON"), (b"\xff\xfe", "not JSON"), (b"[]", "not an event"),
    (b'{"job": "j"}', "not an event"), (b"42", "not an event"),
    (json.dumps({"job": "j", "event": "exploded", "host": "bay2", "time": "2026-12-01T10:00:00Z"}).encode(),
     "not an event"),
    (json.dumps({"job": "j k", "event": "start", "host": "bay2", "time": "2026-12-01T10:00:00Z"}).encode(),
     "not an event"),
    (json.dumps({"job": "j", "event": "start", "host": "bay2", "time": "yesterday"}).encode(), "time"),
    (json.dumps({"job": "j", "event": "start", "host": "bay2", "time": "2026-12-01T10:00:00Z",
                 "sql": "DROP TABLE runs"}).encode(), "not an event"),
    (json.dumps([payload(make("j", "start", host="bay2"))] * 101).encode(), "not an event"),
])
def test_a_malformed_post_is_400_with_one_line_and_records_nothing(history, raw, why):
    with pytest.raises(Rejected) as caught:
        history.ingest(raw, "bay2")
    assert caught.value.status == 400 and str(caught.value).startswith(why)
    assert "\n" not in str(caught.value) and len(str(caught.value)) <= 300
    assert history.runs() == []


@pytest.mark.parametrize("host", ["../../etc", "db1/../x", "", "a b", "x" * 300, "-rf"])
def test_a_host_name_that_is_no_host_name_is_refused(history, host):
    event = {"job": "j", "event": "start", "host": host, "time": "2026-12-01T10:00:00Z"}
    with pytest.raises(Rejected):
        history.ingest(json.dumps(event).encode(), None)
    with pytest.raises(Rejected):
        history.ingest(body(make("j", "start", host="bay2")), host)
    assert history.runs() == []


def test_a_post_never_writes_another_hosts_runs(history):
    history.record(ev("rex-pgdump", "start", 0, host="db1", run_id="shared-id"))
    # bay2 claims db1's event: refused whole, even alongside its own
    with pytest.raises(Rejected, match="host db1 in a post for host bay2"):
        history.ingest(body(make("x", "start", host="bay2"), make("rex-pgdump", "success", host="db1",
                                                                   run_id="shared-id")), "bay2")
    # bay2 ends a run with db1's run id: a run of bay2's own, db1's stays open
    history.ingest(body(make("rex-pgdump", "success", host="bay2", run_id="shared-id")), "bay2")
    runs = {r["host"]: r for r in history.runs()}
    assert runs["db1"]["status"] == "running" and runs["bay2"]["status"] == "success"
    # with no host given, every event of the post must share one host
    with pytest.raises(Rejected):
        history.ingest(body(make("a", "start", host="bay2"), make("b", "start", host="db1")), None)


def _timed_post(when, offset, naive):
    """A well-formed post whose only doubt is its time: any year 1-9999, any offset."""
    zone = None if naive else timezone(timedelta(minutes=offset))
    text = when.replace(tzinfo=zone).isoformat()
    return json.dumps({"job": "j", "event": "start", "host": "bay2", "time": text}).encode()


TIMED_POSTS = st.builds(_timed_post, st.datetimes(), st.integers(-23 * 60, 23 * 60), st.booleans())


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=600) | TIMED_POSTS | st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["job", "event", "host", "time", "run_id", "exit_status", "log_tail", "events", "x"]),
        inner, max_size=6)).map(lambda v: json.dumps(v).encode()),
       claimed=st.sampled_from(["bay2", None]))
def test_any_post_is_recorded_for_its_host_only_or_rejected_whole(raw, claimed):
    with tempfile.TemporaryDirectory() as tmp, RunHistory(os.path.join(tmp, "h.sqlite")) as history:
        try:
            events = history.ingest(raw, claimed)
        except Rejected as exc:
            assert exc.status in ((400, 403, 413) if claimed else (400, 413)) and "\n" not in str(exc)
            assert history.runs() == []
            return
        hosts = {e.host for e in events}
        assert len(hosts) == 1 and (claimed is None or hosts == {claimed})
        assert {r["host"] for r in history.runs()} <= hosts
        assert all(EARLIEST <= parse_time(e.time) < LATEST for e in events)


@pytest.mark.parametrize("when", ["0999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
                                  "1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "1970-01-01T00:00:00"])
def test_an_event_time_out_of_range_is_400_and_records_nothing(history, when):
    raw = json.dumps({"job": "j", "event": "start", "host": "bay2", "time": when}).encode()
    with pytest.raises(Rejected) as caught:
        history.ingest(raw, "bay2")
    assert caught.value.status == 400 and str(caught.value).startswith("time") and "\n" not in str(caught.value)
    assert history.runs() == []
