"""The run history: every start, success and failure rex-report (and rexd) sees, kept in
a small SQLite file in the state directory so that rex-web can say which job ran when,
how it ended and why it failed.

A start opens a run; a success or a failure closes the run it belongs to: the one with
its run id, else the newest open run of the same job on the same host; an end whose
start was lost is a run of its own, with no start time; a run still open when the next
one of its job starts on its host failed (its end was lost), with no end time. Rows are keyed by host, so an
event can only ever touch the runs of its own host. The file stays small: runs older
than `keep` seconds and all but the newest `max_rows` are pruned on each write.

Other hosts post their events to rex-web (`POST /api/v1/events`, the JSON rex-report's
webhook monitor sends); `ingest` is the one gate for such a post: a bounded body, a JSON
schema, and every event of the post for the one host the post speaks for.
"""

import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone

from ..config.schema import HOST_NAME
from .event import Event, clip_utf8

DB_NAME = "history.sqlite"
KEEP = 90 * 86400           # seconds; config history.keep
MAX_ROWS = 10_000           # config history.max_rows
TAIL_BYTES = 16 * 1024      # of a failure's log tail kept per run
MAX_POST = 256 * 1024       # bytes of one POST /api/v1/events
MAX_EVENTS = 100            # events in one post
# Event times a post may carry: a job that ran before 2000 or after 2100 is a broken clock or
# a forged post, and times outside years 1000-9999 have no 4-digit ISO 8601 form to keep.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp()
STATUSES = ("running", "success", "failure")
UNENDED = "no end reported before the next start"

HOST = HOST_NAME
JOB = r"^[^\s\x00-\x1f\x7f]{1,200}$"
EVENT_SCHEMA = {
    "type": "object",
    "required": ["job", "event", "host", "time"],
    "additionalProperties": False,
    "properties": {
        "job": {"type": "string", "pattern": JOB},
        "event": {"enum": ["start", "success", "failure"]},
        "host": {"type": "string", "pattern": HOST},
        "time": {"type": "string", "maxLength": 40},
        "exit_status": {"type": ["integer", "null"], "minimum": 0, "maximum": 255},
        "reason": {"type": ["string", "null"], "maxLength": 1000},
        "run_id": {"type": ["string", "null"], "pattern": r"^[A-Za-z0-9-]{1,64}$"},
        "title": {"type": ["string", "null"], "maxLength": 2000},
        "log_tail": {"type": ["string", "null"], "maxLength": MAX_POST},
    },
}
# A post: one event (the webhook monitor's body), a list of them, or {"events": [...]}.
POST_SCHEMA = {
    "oneOf": [
        EVENT_SCHEMA,
        {"type": "array", "items": EVENT_SCHEMA, "minItems": 1, "maxItems": MAX_EVENTS},
        {"type": "object", "required": ["events"], "additionalProperties": False,
         "properties": {"events": {"type": "array", "items": EVENT_SCHEMA, "minItems": 1, "maxItems": MAX_EVENTS}}},
    ],
}


class Rejected(ValueError):
    """A post rex-web refuses; `status` is the HTTP status to answer (400 or 413), the
    message one line."""

    status = 400


class TooLarge(Rejected):
    status = 413


class WrongHost(Rejected):
    """A post for a host it may not write: another host's runs under a host's own token,
    or, under the shared token, the runs of a host that posts with its own."""

    status = 403


def iso(seconds):
    """Seconds since the epoch as ISO 8601 UTC (`2026-12-03T12:40:26Z`), None for None."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    """Seconds since the epoch of an ISO 8601 time (a naive one is UTC); ValueError otherwise."""
    when = datetime.fromisoformat(text.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


class RunHistory:
    """The runs of every job on every host that reported here (SQLite, one connection
    shared by a server's threads behind a lock)."""

    def __init__(self, path=None, keep=KEEP, max_rows=MAX_ROWS):
        import os

        from ..statedb import open_db

        if path is None:
            from ..paths import state_dir

            path = os.path.join(state_dir(), DB_NAME)
        self.path = path
        self.keep = KEEP if keep is None else keep
        self.max_rows = MAX_ROWS if max_rows is None else max_rows
        self._lock = threading.Lock()
        self.db = open_db(os.path.dirname(path) or ".", os.path.basename(path),
                          "CREATE TABLE IF NOT EXISTS runs (host TEXT NOT NULL, run_id TEXT NOT NULL, "
                          "job TEXT NOT NULL, started REAL, ended REAL, last REAL NOT NULL, status TEXT NOT NULL, "
                          "exit_code INTEGER, reason TEXT, log_tail TEXT, PRIMARY KEY (host, run_id))",
                          "CREATE INDEX IF NOT EXISTS runs_last ON runs (last)",
                          "CREATE INDEX IF NOT EXISTS runs_open ON runs (host, job, status)",
                          shared=True)

    @classmethod
    def from_config(cls, config, path=None):
        return cls(path, keep=config.get("history.keep"), max_rows=config.get("history.max_rows"))

    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def record(self, event, now=None):
        """Add one Event: a start opens a run, a success or failure closes its run."""
        self.record_all([event], now)

    def record_all(self, events, now=None):
        """Add Events in one transaction, then prune."""
        now = time.time() if now is None else now
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for event in events:
                    self._add(event)
                self._prune(now)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _add(self, event):
        when = parse_time(event.time)
        if event.kind == "start":
            run_id = event.run_id or str(uuid.uuid4())
            # A run of the same job on the same host still open from before never reported its end
            # (the machine went down, the reporter was killed): it failed, and says so.
            self.db.execute("UPDATE runs SET status = 'failure', reason = ? WHERE host = ? AND job = ? "
                            "AND status = 'running' AND started < ? AND run_id != ?",
                            (UNENDED, event.host, event.job, when, run_id))
            self.db.execute("INSERT INTO runs (host, run_id, job, started, last, status) VALUES (?, ?, ?, ?, ?, ?) "
                            "ON CONFLICT (host, run_id) DO UPDATE SET started = excluded.started "
                            "WHERE started IS NULL", (event.host, run_id, event.job, when, when, "running"))
            return
        tail = clip_utf8(event.log_tail or "", TAIL_BYTES) if event.kind == "failure" else ""
        row = None
        if event.run_id:
            row = self.db.execute("SELECT run_id, started FROM runs WHERE host = ? AND run_id = ?",
                                  (event.host, event.run_id)).fetchone()
        if row is None and not event.run_id:
            row = self.db.execute("SELECT run_id, started FROM runs WHERE host = ? AND job = ? AND status = 'running' "
                                  "AND started <= ? ORDER BY started DESC LIMIT 1",
                                  (event.host, event.job, when)).fetchone()
        if row is None:          # its start was lost (or never sent)
            self.db.execute("INSERT INTO runs (host, run_id, job, started, ended, last, status, exit_code, reason, "
                            "log_tail) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                            (event.host, event.run_id or str(uuid.uuid4()), event.job, when, when, event.kind,
                             event.exit_status, event.reason, tail))
            return
        self.db.execute("UPDATE runs SET ended = ?, last = ?, status = ?, exit_code = ?, reason = ?, log_tail = ? "
                        "WHERE host = ? AND run_id = ?",
                        (when, max(when, row[1] or when), event.kind, event.exit_status, event.reason, tail,
                         event.host, row[0]))

    def _prune(self, now):
        if self.keep:
            self.db.execute("DELETE FROM runs WHERE last < ?", (now - self.keep,))
        if self.max_rows:
            self.db.execute("DELETE FROM runs WHERE rowid IN (SELECT rowid FROM runs ORDER BY last DESC "
                            "LIMIT -1 OFFSET ?)", (self.max_rows,))

    def runs(self, limit=100, job=None, host=None, status=None):
        """The newest runs first, as dicts (run_id, job, host, started, ended, duration_s,
        status, exit_code, reason, log_tail), filtered by job, host and status."""
        where, args = [], []
        for column, value in (("job", job), ("host", host), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = ("SELECT run_id, job, host, started, ended, status, exit_code, reason, log_tail FROM runs"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY last DESC, rowid DESC LIMIT ?")
        with self._lock:
            rows = self.db.execute(sql, (*args, max(0, int(limit)))).fetchall()
        return [_run(*row) for row in rows]

    def ingest(self, body, host_claimed=None, reserved=()):
        """Record the events of one POST body for one host: `host_claimed` (or, when None,
        the host of the post's events, which must then all agree and not be one of
        `reserved`, the hosts that post with their own token). Raises Rejected (400),
        WrongHost (403) or TooLarge (413) with a one-line reason, recording nothing;
        returns the Events recorded."""
        events = parse_post(body, host_claimed, reserved)
        self.record_all(events)
        return events


def parse_post(body, host_claimed=None, reserved=()):
    """The Events of a POST body, checked (see RunHistory.ingest)."""
    import jsonschema

    if body is None:
        body = b""
    if len(body) > MAX_POST:
        raise TooLarge(f"event post larger than {MAX_POST} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(f"not JSON: {_line(exc)}") from None
    try:
        jsonschema.validate(data, POST_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise Rejected(f"not an event: {_schema_problem(exc)}") from None
    items = data["events"] if isinstance(data, dict) and "events" in data else data
    items = items if isinstance(items, list) else [items]
    if host_claimed is not None and not re.match(HOST, host_claimed):
        raise Rejected("not a host name: " + _line(ValueError(repr(host_claimed[:100]))))
    host = host_claimed or items[0]["host"]
    events = []
    for item in items:
        if item["host"] != host:
            refused = WrongHost if host_claimed else Rejected    # a host's token lies; a shared post is malformed
            raise refused(f"event for host {item['host']} in a post for host {host}: a host reports only its own runs")
    if host_claimed is None and host in reserved:
        raise WrongHost(f"host {host} posts with its own token (web.hosts): the shared token cannot write its runs")
    for item in items:
        try:
            when = parse_time(item["time"])
        except (ValueError, OverflowError):
            raise Rejected(f"time: not an ISO 8601 time: {item['time'][:40]!r}") from None
        if not EARLIEST <= when < LATEST:
            raise Rejected(f"time: {item['time'][:40]!r} is not between {iso(EARLIEST)} and {iso(LATEST)}")
        events.append(Event(job=item["job"], kind=item["event"], host=host, time=iso(when),
                            exit_status=item.get("exit_status"), reason=item.get("reason"),
                            log_tail=item.get("log_tail") or "", run_id=item.get("run_id")))
    return events


def _schema_problem(exc):
    """One line naming where the post breaks the schema, without echoing a huge value."""
    best = exc
    try:
        import jsonschema.exceptions

        best = jsonschema.exceptions.best_match([exc]) or exc
    except Exception:
        pass
    where = "/".join(str(p) for p in best.absolute_path) or "body"
    message = best.message if len(best.message) <= 200 else best.message[:200] + "..."
    return _line(ValueError(f"{where}: {message}"))


def _line(exc):
    return " ".join(str(exc).split())[:300]


def _run(run_id, job, host, started, ended, status, exit_code, reason, log_tail):
    duration = round(ended - started, 3) if started is not None and ended is not None else None
    return {"run_id": run_id, "job": job, "host": host, "started": iso(started), "ended": iso(ended),
            "duration_s": duration, "status": status, "exit_code": exit_code, "reason": reason,
            "log_tail": log_tail or ""}


def record_event(config, event):
    """Append `event` to this host's run history (as configured); a failure to do so is a
    warning, never the job's failure."""
    from .. import log

    try:
        with RunHistory.from_config(config) as history:
            history.record(event)
    except Exception as exc:  # a full disk or a locked file must not fail the job
        log.warning(f"{event.kind} of {event.job} not recorded in the run history: {_line(exc)}")
