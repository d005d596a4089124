"""The status page: server-rendered HTML that answers the morning questions at a glance.

One pure function of what the API serves (health, sets, jobs, standby, farm), so the page
and the JSON never disagree. It works without JavaScript: filtering and sorting are a
GET form and header links, refresh is a meta refresh; it reads on a phone (one column,
tables scroll sideways). Every value is escaped: set, job and host names come from
files and posts.
"""

from html import escape
from urllib.parse import urlencode

from ..backups.dedupe import human_size

STATES = ("FAILED", "STALE", "UNVERIFIED", "OK")
VERDICT_CLASS = {"OK": "ok", "WARNING": "warn", "CRITICAL": "crit"}
STATE_CLASS = {"OK": "ok", "STALE": "warn", "UNVERIFIED": "warn", "FAILED": "crit"}
COLUMNS = (("state", "State"), ("name", "Set"), ("age", "Newest"), ("count", "Backups"), ("bytes", "Size"),
           ("saved_bytes", "Saved"), (None, "Verified"), (None, "Off site"))
FILTERS = ("state", "library", "project", "q", "sort")
REFRESH_S = 60
ROWS = 500           # sets listed at most (worst first by default); the API lists them all

_CSS = """
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:80em;padding:.5em;color:#111;background:#fff}
h1{font-size:1.3em;margin:.3em 0}h2{font-size:1.1em;margin:1.2em 0 .4em;border-bottom:1px solid #ccc}
.verdict{padding:.6em .8em;border-radius:.3em;color:#fff}.verdict h1{margin:0;font-size:1.6em}
.verdict ul{margin:.3em 0 0;padding-left:1.2em}
.ok{background:#17692f}.warn{background:#8a5a00}.crit{background:#a11}
.state{color:#fff;padding:0 .3em;border-radius:.2em;font-weight:600;font-size:.85em;white-space:nowrap}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25em .4em;border-bottom:1px solid #eee;vertical-align:top}
td.n{text-align:right;white-space:nowrap}th a{color:inherit}
.why{font-size:.85em;color:#555}form{display:flex;flex-wrap:wrap;gap:.4em;margin:.4em 0}
input,select,button{font:inherit;padding:.2em}pre{white-space:pre-wrap;background:#f4f4f4;padding:.4em;
margin:.2em 0;max-height:20em;overflow:auto}.muted{color:#666}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}th,td{border-color:#333}
pre{background:#222}.why,.muted{color:#aaa}}
"""


def render(health, sets, jobs, standby, farm, query=None, total=None, looked_at=None):
    """The whole page. `query`: the filters in force (state, library, project, q, sort);
    `total`: how many sets there are before filtering; `looked_at`: when the tree was last
    looked at."""
    query = {k: v for k, v in (query or {}).items() if k in FILTERS and v}
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        f"<meta http-equiv=refresh content={REFRESH_S}>",
        f"<title>Rex: {escape(health.get('verdict', '?'))}</title><style>{_CSS}</style></head><body>",
        _verdict(health),
        _sets(sets, query, total, looked_at),
        _jobs(jobs),
        _standby(standby),
        _farm(farm),
        '<p class=muted>Read-only. JSON: <a href="api/v1/openapi.json">api/v1</a> · '
        '<a href="metrics">metrics</a></p>',
        "</body></html>",
    ]
    return "".join(parts)


def _verdict(health):
    verdict = health.get("verdict", "CRITICAL")
    reasons = health.get("reasons") or []
    items = "".join(f"<li>{escape(str(r))}</li>" for r in reasons)
    return (f'<section id=verdict class="verdict {VERDICT_CLASS.get(verdict, "crit")}"><h1>{escape(verdict)}</h1>'
            + (f"<ul>{items}</ul>" if items else "<p>Every backup set is fresh, verified and off site.</p>")
            + "</section>")


def _sets(sets, query, total, looked_at=None):
    counts = {s: 0 for s in STATES}
    for item in sets:
        counts[item.get("state")] = counts.get(item.get("state"), 0) + 1
    summary = " · ".join(f"{counts[s]} {s}" for s in STATES if counts.get(s))
    shown = f"{len(sets)} of {total}" if total is not None and total != len(sets) else str(len(sets))
    rows = "".join(_set_row(item) for item in sets[:ROWS])
    if len(sets) > ROWS:
        rows += (f'<tr><td colspan=8 class=muted>… and {len(sets) - ROWS} more: choose a state, a library '
                 'or a search to see them (<a href="api/v1/sets">all as JSON</a>)</td></tr>')
    return ("<section id=sets><h2>Backup sets</h2>" + _filter_form(query)
            + f"<p class=muted>{shown} sets{': ' + summary if summary else ''}"
            + (f" · tree looked at {escape(str(looked_at))}" if looked_at else "") + "</p>"
            + (f"<div class=scroll><table><thead><tr>{_headers(query)}</tr></thead><tbody>{rows}</tbody></table>"
               "</div>" if sets else "<p>No backup set matches.</p>")
            + "</section>")


def _filter_form(query):
    options = "".join(f"<option{' selected' if query.get('state') == s else ''}>{s}</option>" for s in STATES)
    fields = "".join(
        f'<input name={name} placeholder="{label}" value="{escape(query.get(name, ""))}" aria-label="{label}">'
        for name, label in (("library", "library"), ("project", "project"), ("q", "search")))
    sort = f'<input type=hidden name=sort value="{escape(query["sort"])}">' if query.get("sort") else ""
    return (f'<form method=get action="./#sets"><select name=state aria-label=state><option value="">every state'
            f"</option>{options}</select>{fields}{sort}<button>Show</button></form>")


def _headers(query):
    current = query.get("sort", "")
    cells = []
    for key, label in COLUMNS:
        if key is None:
            cells.append(f"<th>{label}</th>")
            continue
        descending = current == key
        target = "-" + key if descending else key
        link = "?" + urlencode({**query, "sort": target}) + "#sets"
        mark = " ▲" if current == key else " ▼" if current == "-" + key else ""
        cells.append(f'<th data-key="{key}"><a href="{escape(link)}">{label}{mark}</a></th>')
    return "".join(cells)


def _set_row(item):
    state = item.get("state") or "?"
    reasons = "; ".join(str(r) for r in item.get("reasons") or ())
    where = item.get("directory") or ""
    name = (item.get("name") or item.get("id") or "") + (item.get("ext") or "")
    return ("<tr>"
            f'<td><span class="state {STATE_CLASS.get(state, "crit")}">{escape(state)}</span>'
            + (f'<div class=why>{escape(reasons)}</div>' if reasons else "") + "</td>"
            f"<td>{escape(str(name))}<div class=why>{escape(str(item.get('kind') or ''))}"
            f"{' · ' + escape(where) if where else ''}</div></td>"
            f'<td class=n title="{escape(str(item.get("newest") or ""))}">{_age(item.get("age_s"))}</td>'
            f"<td class=n>{item.get('count') or 0}</td>"
            f"<td class=n>{_size(item.get('bytes'))}</td>"
            f"<td class=n>{_size(item.get('saved_bytes'))}</td>"
            f"<td>{_when(item.get('verified_newest'), item.get('verified_at'), item.get('verify_failed'))}</td>"
            f"<td>{_when(item.get('uploaded_newest'), item.get('uploaded_at'))}</td>"
            "</tr>")


def _when(newest, at, failed=False):
    if failed:
        return '<span class="state crit">failed</span>' + (f" {escape(str(at))}" if at else "")
    if not newest and not at:
        return "<span class=muted>never</span>"
    return escape(str(at or newest))


def _jobs(jobs):
    if not jobs:
        return "<section id=jobs><h2>Jobs</h2><p class=muted>No run recorded yet.</p></section>"
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(run.get('job')))}</td><td>{escape(str(run.get('host')))}</td>"
        f"<td>{_status(run.get('status'))}</td><td>{escape(str(run.get('started') or ''))}</td>"
        f"<td class=n>{_duration(run.get('duration_s'))}</td>"
        f"<td class=n>{'' if run.get('exit_code') is None else run.get('exit_code')}</td></tr>"
        for run in jobs)
    failures = [run for run in jobs if run.get("status") == "failure"]
    tails = "".join(
        f"<details open class=failure><summary>{escape(str(run.get('job')))} on {escape(str(run.get('host')))}, "
        f"{escape(str(run.get('ended') or run.get('started') or ''))}"
        f"{'' if run.get('exit_code') is None else ' (exit ' + str(run.get('exit_code')) + ')'}</summary>"
        f"<pre>{escape(str(run.get('log_tail') or '(no log)'))}</pre></details>"
        for run in failures)
    return ("<section id=jobs><h2>Jobs</h2><div class=scroll><table><thead><tr><th>Job</th><th>Host</th>"
            "<th>Status</th><th>Started</th><th>Took</th><th>Exit</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
            + (f"<h2>Failures</h2>{tails}" if tails else "") + "</section>")


def _status(status):
    cls = {"success": "ok", "running": "warn", "failure": "crit"}.get(status, "warn")
    return f'<span class="state {cls}">{escape(str(status))}</span>'


def _standby(standby):
    return "<section id=standby><h2>Standby</h2>" + _facts(standby) + "</section>"


def _farm(farm):
    if not farm or not farm.get("configured"):
        return "<section id=farm><h2>Farm</h2><p class=muted>not configured</p></section>"
    parts = []
    queues = farm.get("queues") or {}
    if isinstance(queues, dict) and queues:
        parts.append("<p>Queues: " + ", ".join(f"{escape(str(k))} {escape(str(v))}" for k, v in queues.items())
                     + "</p>")
    workers = farm.get("workers") or []
    if workers:
        keys = ("host", "version", "state", "job", "progress")
        head = "".join(f"<th>{k}</th>" for k in keys)
        rows = "".join("<tr>" + "".join(f"<td>{escape(_text(w.get(k)))}</td>" for k in keys) + "</tr>"
                       for w in workers if isinstance(w, dict))
        parts.append(f"<div class=scroll><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>")
    else:
        parts.append("<p class=muted>no worker</p>")
    rest = {k: v for k, v in farm.items() if k not in ("configured", "queues", "workers")}
    if rest:
        parts.append(_facts(rest))
    return "<section id=farm><h2>Farm</h2>" + "".join(parts) + "</section>"


def _facts(record):
    if not record or record.get("configured") is False:
        return "<p class=muted>not configured</p>"
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(_text(v))}</td></tr>"
                   for k, v in record.items() if k != "configured")
    return f"<div class=scroll><table>{rows}</table></div>"


def _text(value):
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _age(seconds):
    if seconds is None:
        return "<span class=muted>none</span>"
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _duration(seconds):
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _size(value):
    return human_size(value) if isinstance(value, (int, float)) and value else "0 B" if value == 0 else ""

