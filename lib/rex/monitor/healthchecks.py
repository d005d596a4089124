"""healthchecks.io-style ping URLs (also Uptime Kuma push, Cronitor's healthchecks mode):
start goes to URL/start, success to URL, failure to URL/STATUS or URL/fail; the body
is the log tail, and `rid` pairs a start with its end so run times are measured."""

from urllib.parse import urlsplit, urlunsplit

from .event import MAX_BODY
from .http import Request


def ping_url(base, event):
    """The URL of `event` for the check whose ping URL is `base` (query kept)."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if event.kind == "start":
        path += "/start"
    elif event.kind == "failure":
        status = event.exit_status
        path += f"/{status}" if isinstance(status, int) and 1 <= status <= 255 else "/fail"
    query = parts.query
    if event.run_id:
        query = (query + "&" if query else "") + f"rid={event.run_id}"
    return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))


def request(url, event, token=None):
    body = event.text(MAX_BODY).encode("utf-8")
    return Request("POST", ping_url(url, event), {"Content-Type": "text/plain; charset=utf-8"}, body)
