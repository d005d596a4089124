"""What the status page says, as data: filters, sorting and search over the sets, the jobs,
the verdict and its reasons, and never a secret of the configuration."""

import json
import os
import socket
import time

import pytest

import backuptree
from rex.config.loader import load
from rex.monitor.event import Event
from rex.monitor.history import DB_NAME, RunHistory, iso
from rex.web.status import BadQuery, SORTS, Status

from webtree import DAY, config, settle, stamp_ago, verify


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def facility(tmp_path):
    """A tree with one set in each state: OK (dump), STALE (export), UNVERIFIED (dump), FAILED (export)."""
    root, state = tmp_path / "backups", str(tmp_path / "state")
    ok = backuptree.put(str(root / "db1_5432" / "Resolve Projects"), "Resolve Projects", stamp_ago(3600), b"1",
                        ext=".backup")
    stale = backuptree.put(str(root / "Commercials" / "Spot A"), "Spot A", stamp_ago(9 * DAY), b"2", ext=".drp")
    backuptree.put(str(root / "db1_5432" / "Commercials"), "Commercials", stamp_ago(7200), b"3", ext=".backup")
    bad = backuptree.put(str(root / "Commercials" / "Spot B"), "Spot B", stamp_ago(600), b"4", ext=".drp")
    verify(state, ok, stale, bad)
    backuptree.corrupt(bad)
    verify(state, bad)
    settle(root)
    return str(root), state


def status_of(root, state, **values):
    return Status(config(**values), root=root, state=state)


def names(found):
    return [s["name"] for s in found]


def test_filters_search_and_sorts(facility):
    status = status_of(*facility)
    assert names(status.sets()) == ["Spot B", "Spot A", "Commercials", "Resolve Projects"]   # worst first
    assert names(status.sets(state="STALE")) == ["Spot A"]
    assert names(status.sets(library="Commercials", sort="name")) == ["Commercials", "Spot A", "Spot B"]
    assert names(status.sets(project="Spot B")) == ["Spot B"]
    assert names(status.sets(kind="dump", sort="-name")) == ["Resolve Projects", "Commercials"]
    assert names(status.sets(q="SPOT", sort="age")) == ["Spot B", "Spot A"]
    assert names(status.sets(q="resolve proj")) == ["Resolve Projects"]
    assert names(status.sets(q="nothing like it")) == []
    for sort in SORTS:
        forward, backward = status.sets(sort=sort), status.sets(sort="-" + sort)
        assert sorted(names(forward)) == sorted(names(backward)) == sorted(names(status.sets()))


@pytest.mark.parametrize("query", [{"state": "GREEN"}, {"sort": "size"}, {"sort": "--name"},
                                   {"sort": "../../etc/passwd"}])
def test_a_filter_or_sort_it_cannot_take_is_a_bad_query(facility, query):
    with pytest.raises(BadQuery):
        status_of(*facility).sets(**query)


def test_a_set_by_id_and_an_unknown_id(facility):
    status = status_of(*facility)
    for found in status.sets():
        assert status.set(found["id"]) == found
    for ident in ("0" * 16, "../../../etc/passwd", "", None, 5):
        assert status.set(ident) is None


def runs_of(state, *events):
    with RunHistory(os.path.join(state, DB_NAME)) as history:
        for job, kind, host, ago, code in events:
            history.record(Event(job=job, kind=kind, host=host, time=iso(time.time() - ago), exit_status=code,
                                 log_tail="pg_dump: connection refused" if kind == "failure" else ""))


def test_the_verdict_names_every_reason_and_takes_the_worst(facility):
    root, state = facility
    runs_of(state, ("rex-pgdump", "start", "db1", 100, None), ("rex-pgdump", "failure", "db1", 90, 4),
            ("rex-export", "start", "bay2", 100, None), ("rex-export", "failure", "bay2", 90, 1),
            ("rex-export", "start", "bay2", 50, None), ("rex-export", "success", "bay2", 40, None))
    health = status_of(root, state).health()
    assert health["verdict"] == "CRITICAL"
    assert health["reasons"][0] == "1 set FAILED: Commercials/Spot B/Spot B.drp"
    assert "1 set STALE: Commercials/Spot A/Spot A.drp" in health["reasons"]
    assert "1 set UNVERIFIED: db1_5432/Commercials/Commercials.backup" in health["reasons"]
    assert "rex-pgdump failed on db1 (exit 4)" in health["reasons"]
    assert not any("rex-export" in r for r in health["reasons"])     # its last run succeeded


def test_a_healthy_facility_is_ok_with_no_reasons_and_a_missing_root_is_critical(tmp_path):
    root, state = tmp_path / "backups", str(tmp_path / "state")
    verify(state, backuptree.put(str(root / "s"), "s", stamp_ago(60), b"x", ext=".backup"))
    assert status_of(str(root), state).health() == {"verdict": "OK", "reasons": []}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert status_of(str(empty), state).health() == {"verdict": "WARNING",
                                                     "reasons": ["no backups under the backup root"]}
    assert status_of(str(tmp_path / "gone"), state).health() == {"verdict": "CRITICAL",
                                                                  "reasons": ["backup root missing"]}


def test_with_a_remote_a_set_with_no_copy_proved_there_is_a_warning(tmp_path):
    root, state = tmp_path / "backups", str(tmp_path / "state")
    verify(state, backuptree.put(str(root / "s"), "s", stamp_ago(60), b"x", ext=".backup"))
    health = status_of(str(root), state, **{"upload.remote": "offsite:rex"}).health()
    assert health == {"verdict": "WARNING", "reasons": ["1 set with no copy proved on the remote: s/s.backup"]}


def test_jobs_newest_first_filtered_and_bounded(facility):
    root, state = facility
    runs_of(state, ("rex-pgdump", "start", "db1", 100, None), ("rex-pgdump", "failure", "db1", 90, 4),
            ("rex-verify", "start", "db1", 80, None))
    status = status_of(root, state)
    assert [(r["job"], r["status"]) for r in status.jobs()] == [("rex-verify", "running"), ("rex-pgdump", "failure")]
    assert status.jobs(status="failure")[0]["log_tail"] == "pg_dump: connection refused"
    assert len(status.jobs(limit=1)) == 1
    for bad in ({"limit": -1}, {"limit": "many"}, {"limit": 10**9}, {"status": "exploded"}):
        with pytest.raises(BadQuery):
            status.jobs(**bad)


def test_standby_and_farm_say_not_configured(facility):
    status = status_of(*facility)
    assert status.standby() == {"configured": False} and status.farm() == {"configured": False}


def test_a_standby_that_cannot_be_reached_is_critical_with_its_thresholds(facility):
    status = status_of(*facility, **{"web.standby": f"127.0.0.1:{closed_port()}", "standby.warn": "1MB,1m"})
    standby = status.standby()
    assert standby["configured"] is True and standby["status"] == "CRITICAL"
    assert standby["thresholds"] == {"warn": {"bytes": 1 << 20, "seconds": 60.0},
                                     "crit": {"bytes": 256 << 20, "seconds": 600.0}}
    assert any(r.startswith("standby CRITICAL: ") for r in status.health()["reasons"])


SECRETS_CONFIG = """\
report:
  monitors:
    - healthchecks: https://hc-ping.com/SECRET-UUID-0001
    - ntfy: https://SECRETUSER:SECRETPASS@ntfy.example/topic
      token: SECRET-NTFY-TOKEN
    - webhook: $SECRET_HOOK_URL
      token_env: SECRET_TOKEN_VAR
  jobs:
    rex-pgdump:
      - healthchecks: https://hc-ping.com/SECRET-UUID-0002
upload:
  remote: "secretremote:SECRET-BUCKET/rex"
  rclone_config: /etc/rex/SECRET-rclone.conf
pgdump:
  passfile: /etc/rex/SECRET-pgpass
web:
  token_file: /etc/rex/SECRET-web-token
  standby: "127.0.0.1:{port}"
"""


def test_nothing_said_holds_a_credential_url_or_token_of_the_configuration(facility, tmp_path, monkeypatch):
    root, state = facility
    path = tmp_path / "rex.yaml"
    path.write_text(SECRETS_CONFIG.format(port=closed_port()))
    monkeypatch.setenv("REX_WEB_TOKEN", "SECRET-WEB-TOKEN")
    monkeypatch.setenv("SECRET_HOOK_URL", "https://hooks.example/SECRET-HOOK-PATH")
    runs_of(state, ("rex-pgdump", "start", "db1", 100, None), ("rex-pgdump", "failure", "db1", 90, 4))
    status = Status(load(str(path)), root=root, state=state)
    said = [status.sets(), status.jobs(), status.standby(), status.farm(), status.health()]
    said += [status.set(s["id"]) for s in status.sets()]
    text = json.dumps(said)
    assert "CRITICAL" in text and "Spot B" in text          # it did say something
    assert "SECRET" not in text


needs_farm = pytest.mark.skipif("farm.redis_url" not in __import__("rex.config.schema").config.schema.BY_NAME,
                                reason="the farm (rex.proxy.farmconn, farm.* keys) has not landed on this branch")


@needs_farm
def test_the_farm_section_asks_a_real_redis_and_never_says_its_password(facility, tmp_path, monkeypatch):
    import shutil
    import subprocess

    port = closed_port()
    server = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--requirepass", "SECRET-REDIS-PW"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        monkeypatch.setenv("REX_FARM_PASSWORD", "SECRET-REDIS-PW")
        farm = status_of(*facility, **{"farm.redis_url": f"redis://127.0.0.1:{port}/0"}).farm()
        assert farm == {"configured": True, "available": True, "queues": [], "workers": []}
        monkeypatch.setenv("REX_FARM_PASSWORD", "SECRET-WRONG")
        refused = status_of(*facility, **{"farm.redis_url": f"redis://127.0.0.1:{port}/0"})
        assert refused.farm()["available"] is False
        assert any(r.startswith("farm unavailable: ") for r in refused.health()["reasons"])
        assert "SECRET" not in json.dumps([refused.farm(), refused.health()])
    finally:
        server.terminate()
        server.wait()
