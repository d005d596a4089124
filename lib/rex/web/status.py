"""Everything the status page says, as data: backup sets, jobs, the standby, the farm and
one verdict over them. rex-web's page, API and metrics all read this, and nothing here
changes anything.

No secret ever leaves this module: monitor URLs and tokens, passwords, the remote and its
credentials, the Redis URL of the farm are read from the configuration only to be used,
never copied into a result (a test feeds a configuration full of them and searches every
result).
"""

import threading
import time

from . import freshness

OK, WARNING, CRITICAL = "OK", "WARNING", "CRITICAL"
VERDICTS = (OK, WARNING, CRITICAL)
SORTS = ("state", "name", "library", "project", "kind", "newest", "age", "count", "bytes", "saved_bytes")
STANDBY_CACHE = 15.0        # seconds a standby check is reused (a check is one connection)
FARM_CACHE = 5.0            # seconds the farm's state is reused (a few Redis round trips per worker)


class BadQuery(ValueError):
    """A filter or sort the API cannot take; one line, for a 400."""


class Status:
    """The facility's state from `config` (a rex.config Config): `root` and `state` default
    to the backup root and the state directory it names."""

    def __init__(self, config, root=None, state=None, inventory=None, history=None, clock=time.time):
        self.config = config
        self.clock = clock
        self.root = root or config.backup_root
        if state is None:
            from ..paths import state_dir

            state = state_dir()
        self.state = state
        if inventory is None:
            from .inventory import Inventory

            inventory = Inventory(self.root, config, state, clock=clock)
        self.inventory = inventory
        self._history = history
        self._standby = None        # (when, result)
        self._farm = None           # (when, result)
        self._asking_standby, self._asking_farm = threading.Lock(), threading.Lock()

    def close(self):
        """Let go of the inotify watches and the run history."""
        self.inventory.close()
        if self._history is not None:
            self._history.close()
            self._history = None

    def ingest(self, body, host_claimed=None, reserved=()):
        """Record the events of a POST /api/v1/events body (monitor.history.RunHistory.ingest:
        raises monitor.history.Rejected, whose `status` is 400, 403 or 413)."""
        return self.history.ingest(body, host_claimed, reserved)

    @property
    def looked_at(self):
        """When the backup tree was last looked at (ISO 8601 UTC), for "as of" on the page."""
        return self.inventory.looked_at

    @property
    def history(self):
        if self._history is None:
            import os

            from ..monitor.history import DB_NAME, RunHistory

            self._history = RunHistory.from_config(self.config, os.path.join(self.state, DB_NAME))
        return self._history

    # --- backup sets -------------------------------------------------------------------------

    def sets(self, state=None, library=None, project=None, q=None, sort="state", kind=None):
        """The sets, filtered (state, library, project, kind exactly; q a case-blind search in
        name, library, project and directory) and sorted by `sort` (one of SORTS, `-` in
        front for the reverse; "state" puts the worst first)."""
        if state is not None and state not in freshness.STATES:
            raise BadQuery(f"state: expected one of {', '.join(freshness.STATES)}")
        key, reverse = _sort_key(sort)
        found = self.inventory.sets()
        needle = q.casefold() if q else None
        out = []
        for s in found:
            if state is not None and s["state"] != state:
                continue
            if library is not None and s["library"] != library:
                continue
            if project is not None and s["project"] != project:
                continue
            if kind is not None and s["kind"] != kind:
                continue
            if needle and not any(needle in (s[k] or "").casefold() for k in ("name", "library", "project", "directory")):
                continue
            out.append(s)
        out.sort(key=lambda s: (s["directory"], s["name"], s["ext"]))
        out.sort(key=key, reverse=reverse)
        return out

    def set(self, ident):
        """One set by its id, or None."""
        return self.inventory.get(ident) if isinstance(ident, str) else None

    # --- jobs ------------------------------------------------------------------------------------

    def jobs(self, limit=100, job=None, host=None, status=None):
        """The newest runs first (monitor.history.RunHistory.runs)."""
        from ..monitor.history import STATUSES

        if status is not None and status not in STATUSES:
            raise BadQuery(f"status: expected one of {', '.join(STATUSES)}")
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise BadQuery("limit: expected a whole number") from None
        if not 0 <= limit <= 10_000:
            raise BadQuery("limit: expected 0 to 10000")
        return self.history.runs(limit, job=job, host=host, status=status)

    def last_runs(self):
        """The newest run of each job on each host."""
        latest = {}
        for run in self.history.runs(limit=1000):
            latest.setdefault((run["job"], run["host"]), run)
        return list(latest.values())

    # --- standby and farm --------------------------------------------------------------------

    def standby(self):
        """rex-standby's status record of the server web.standby names, with its verdict and
        thresholds (reused for STANDBY_CACHE seconds), or {"configured": False}."""
        where = self.config.get("web.standby")
        if not where:
            return {"configured": False}
        with self._asking_standby:  # one check at a time; the others take its answer
            now = self.clock()
            if self._standby is not None and now - self._standby[0] < STANDBY_CACHE:
                return self._standby[1]
            result = _standby_record(self.config, where)
            self._standby = (self.clock(), result)
            return result

    def farm(self):
        """The farm's queues (with their failed counts) and workers (host, version, state,
        current job, progress) when farm.redis_url is set, reused for FARM_CACHE seconds;
        else {"configured": False}. Never its URL or password."""
        try:
            url = self.config.get("farm.redis_url")
        except KeyError:            # no farm in this version
            url = None
        if not url:
            return {"configured": False}
        with self._asking_farm:
            now = self.clock()
            if self._farm is not None and now - self._farm[0] < FARM_CACHE:
                return self._farm[1]
            result = _farm_state(self.config)
            self._farm = (self.clock(), result)
            return result

    # --- the verdict ------------------------------------------------------------------------------

    def health(self):
        """{"verdict": OK|WARNING|CRITICAL, "reasons": [...]}: CRITICAL for a backup that failed
        verification, a missing backup root or a CRITICAL standby; WARNING for a stale or
        unverified set, a job whose last run failed, a set with no copy proved on the remote
        (when one is configured), a standby that is not OK, a farm that cannot be reached."""
        import os

        found = []
        if not os.path.isdir(self.root):
            found.append((CRITICAL, "backup root missing"))
        sets = self.inventory.sets()
        by_state = {}
        for s in sets:
            by_state.setdefault(s["state"], []).append(s)
        for state, level in ((freshness.FAILED, CRITICAL), (freshness.STALE, WARNING),
                             (freshness.UNVERIFIED, WARNING)):
            hit = by_state.get(state, [])
            if hit:
                found.append((level, f"{len(hit)} {'set' if len(hit) == 1 else 'sets'} {state}: "
                              + _names(hit)))
        if os.path.isdir(self.root) and not sets:
            found.append((WARNING, "no backups under the backup root"))
        if self.inventory.remote:
            off = [s for s in sets if s["uploaded_newest"] is None]
            if off:
                found.append((WARNING, f"{len(off)} {'set' if len(off) == 1 else 'sets'} with no copy proved "
                              "on the remote: " + _names(off)))
        for run in self.last_runs():
            if run["status"] == "failure":
                code = f" (exit {run['exit_code']})" if run["exit_code"] is not None else ""
                found.append((WARNING, f"{run['job']} failed on {run['host']}{code}"))
        standby = self.standby()
        if standby.get("configured"):
            level = {"OK": OK, "WARNING": WARNING, "CRITICAL": CRITICAL}.get(standby.get("status"), WARNING)
            if level != OK:
                found.append((level, "standby " + standby.get("status", "UNKNOWN") + ": "
                              + "; ".join(standby.get("reasons") or ["no answer"])))
        farm = self.farm()
        if farm.get("configured") and not farm.get("available"):
            found.append((WARNING, "farm unavailable: " + farm.get("reason", "")))
        verdict = max((level for level, _ in found), key=VERDICTS.index, default=OK)
        found.sort(key=lambda f: -VERDICTS.index(f[0]))
        return {"verdict": verdict, "reasons": [reason for _, reason in found]}


def _names(sets, most=5):
    names = [s["directory"] + "/" + s["name"] + s["ext"] if s["directory"] else s["name"] + s["ext"] for s in sets]
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def _sort_key(sort):
    """(key function, reverse) for a sort name; BadQuery for an unknown one."""
    sort = sort or "state"
    reverse = sort.startswith("-")
    name = sort[1:] if reverse else sort
    if name not in SORTS:
        raise BadQuery(f"sort: expected one of {', '.join(SORTS)} (- in front: reversed)")
    if name == "state":
        return (lambda s: -freshness.SEVERITY[s["state"]]), reverse
    if name == "age":
        return (lambda s: s["age_s"]), reverse
    if name in ("count", "bytes", "saved_bytes"):
        return (lambda s: s[name]), reverse
    return (lambda s: ((s[name] or "").casefold())), reverse


def _standby_record(config, where):
    """Check the server `where` (HOST or HOST:PORT) as rex-standby status does."""
    from ..errors import RexError
    from ..pg.server import Server
    from ..standby import status as verdicts
    from ..standby import watch

    host, _, port = where.rpartition(":") if where.count(":") == 1 else (where, "", "")
    try:
        warn, crit = verdicts.limits({}, {k: config.get(f"standby.{k}") for k in ("warn", "crit")})
        server = Server(host=host or None, port=int(port) if port else None, connect_timeout=5)
        code, record, line = watch.check(server, config.get("standby.slot"), None, warn, crit)
    except (RexError, ValueError) as exc:
        return {"configured": True, "status": "UNKNOWN", "reasons": [_no_url(exc)]}
    thresholds = {"warn": {"bytes": warn.bytes, "seconds": warn.seconds},
                  "crit": {"bytes": crit.bytes, "seconds": crit.seconds}}
    if record is None:
        return {"configured": True, "status": verdicts.NAMES[code], "reasons": [line], "thresholds": thresholds}
    return {"configured": True, **record, "thresholds": thresholds}


def _farm_state(config):
    """Queues and workers through rex.proxy.farmconn; a farm that cannot be asked is news, not an error."""
    try:
        from ..proxy import farmconn
    except ImportError:
        return {"configured": True, "available": False, "reason": "this version of Rex has no farm"}
    try:
        connection = farmconn.connect(farmconn.url_from(config), farmconn.password_from(config))
        return {"configured": True, "available": True, "queues": farmconn.queues(connection),
                "workers": farmconn.workers(connection)}
    except Exception as exc:  # down, refused, or a bad URL: the page says so
        return {"configured": True, "available": False, "reason": _no_url(exc)}


def _no_url(exc):
    """One line about `exc` with anything like a URL (credentials) cut out."""
    import re

    text = " ".join(str(getattr(exc, "message", exc)).split())
    return re.sub(r"\b[a-z][a-z0-9+.-]*://\S+", "<url>", text)[:300]
