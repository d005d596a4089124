"""The rex-web application (Starlette): routes, the token, limits, nothing that writes a backup.

Every answer comes from one Status (the inventory, the run history, the standby, the
farm), asked in one worker thread so that SQLite connections and the inventory's cache
never see two threads. Query parameters are checked against the OpenAPI document's own
constants: a bad one is a 400 naming it, never a 500. With a token configured every
request needs it (`Authorization: Bearer TOKEN`, or Basic with the token as password,
which is what a browser's login prompt sends); POST /api/v1/events needs a token always:
a host's own (web.hosts), which records runs of that host only, or the shared one, which
records runs of any host that has no token of its own.
"""

import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from .. import __version__
from . import openapi
from .access import poster, token_matches

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy",
     b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
]


FRESH_FOR = 1.0


class BadRequest(ValueError):
    """A parameter the document does not allow; its message names it."""


def create_app(status, token=None, max_event_bytes=None, on_error=None, fresh_for=FRESH_FOR, hosts=None):
    """The ASGI app serving `status` (see rex.web.status.Status).

    `token`: the bearer token every request must carry (None: none needed, loopback only);
    `hosts`: {host: token} of the hosts that post their events with their own token (with
    neither, POST /api/v1/events is refused: events go to status.history);
    `on_error(message)`: where a bug in a handler is told (stderr by default), the client
    only ever hears "internal error"; `fresh_for`: seconds an answer is served again to the
    same request (dashboards and checkers polling one page cost one computation).
    """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from ..monitor.history import MAX_POST, Rejected
    from .status import BadQuery

    max_event_bytes = max_event_bytes or MAX_POST
    hosts = dict(hosts or {})
    on_error = on_error or (lambda message: print(f"rex-web: error: {message}", file=sys.stderr, flush=True))
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rex-web-data")
    document = openapi.document(__version__, max_event_bytes)
    worker.submit(_warm, status, on_error)     # the first inventory, while the socket already answers
    recent = _Recent(fresh_for)

    async def ask(func, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(worker, lambda: func(*args, **kwargs))

    def error(code, message):
        return JSONResponse({"error": message}, status_code=code)

    def guarded(handler):
        async def endpoint(request):
            try:
                return await handler(request)
            except (BadRequest, BadQuery) as exc:
                return error(400, _one_line(exc))
            except Exception as exc:     # a bug: one line on stderr, nothing about it to the client
                on_error(f"{request.url.path}: {type(exc).__name__}: {exc}")
                return error(500, "internal error")
        return endpoint

    def served(compute):
        """A GET answered by `compute(request)` -> (status, body bytes, media type), run in the
        worker thread (data and encoding alike) and reused for `fresh_for` seconds."""
        async def handler(request):
            key = (request.url.path, request.url.query)
            answer = recent.get(key)
            if answer is None:
                answer = await ask(compute, request)
                recent.put(key, answer)
            code, body, media = answer
            return Response(body, status_code=code, media_type=media)
        return guarded(handler)

    def as_json(value, code=200):
        return code, _json_bytes(value), "application/json"

    def page(request):
        from .page import render

        query = set_filters(request.query_params, empty_is_all=True)
        found = status.sets(**query)
        total = len(status.sets()) if set(query) - {"sort"} else len(found)
        html = render(status.health(), found, status.jobs(50), status.standby(), status.farm(), query, total,
                      status.looked_at)
        return 200, html.encode("utf-8"), "text/html; charset=utf-8"

    def sets(request):
        query = set_filters(request.query_params)
        found = status.sets(**query)
        total = len(status.sets()) if set(query) - {"sort"} else len(found)
        return as_json({"sets": found, "total": total})

    def one_set(request):
        found = status.set(request.path_params["id"])
        return as_json(found) if found is not None else as_json({"error": "no backup set has this id"}, 404)

    def jobs(request):
        params = request.query_params
        _only(params, ("limit", "job", "host", "status"))
        limit = _int(params, "limit", 100, 1, openapi.JOBS_MAX)
        filters = {k: _text(params, k) for k in ("job", "host")}
        filters["status"] = _choice(params, "status", openapi.RUN_STATUSES, empty_is_none=False)
        return as_json({"runs": status.jobs(limit, **filters)})

    def health(request):
        verdict = status.health()
        return as_json(verdict, openapi.HEALTH_STATUS.get(verdict.get("verdict"), 503))

    def metrics(request):
        from . import metrics as prom

        def snapshot():
            return status.health(), status.sets(), status.jobs(openapi.JOBS_MAX), status.standby(), status.farm()

        return 200, prom.text(prom.registry(snapshot)), prom.CONTENT_TYPE

    async def events(request):
        if token is None and not hosts:
            return error(403, "this server takes no events: it has no token (web.token_file, REX_WEB_TOKEN, web.hosts)")
        who = request.scope.get(POSTER)      # the guard's: a host of web.hosts, or "" for the shared token
        if who is None:                      # a path the guard did not take for this one: refuse, never guess
            return error(403, "this post was not checked for a token")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return error(415, "send the events as application/json")
        body = await _body(request, max_event_bytes)
        if body is None:
            return error(413, f"the body is larger than {max_event_bytes} bytes")
        try:
            recorded = await ask(status.ingest, body, who or None, reserved=() if who else tuple(hosts))
        except Rejected as exc:
            return error(exc.status, _one_line(exc))
        except ValueError as exc:   # a value the history cannot hold (a time in year 90): the post's fault
            return error(400, "not an event: " + _one_line(exc))
        recent.clear()              # the next page shows it
        return JSONResponse({"recorded": len(recorded)}, status_code=202)

    async def spec(request):
        return JSONResponse(document)

    routes = [Route("/", served(page)), Route("/api/v1/sets", served(sets)),
              Route("/api/v1/sets/{id}", served(one_set)), Route("/api/v1/jobs", served(jobs)),
              Route("/api/v1/standby", served(lambda request: as_json(status.standby()))),
              Route("/api/v1/farm", served(lambda request: as_json(status.farm()))),
              Route("/api/v1/health", served(health)),
              Route("/api/v1/events", guarded(events), methods=["POST"]),
              Route("/metrics", served(metrics)), Route("/api/v1/openapi.json", guarded(spec))]

    async def not_found(request, exc):
        code = getattr(exc, "status_code", 404)
        return error(code, {404: "no such page", 405: "method not allowed"}.get(code, "refused"))

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    guard = _Guard(app, token, hosts)
    guard.close = lambda: worker.submit(status.close).result()   # in the thread that used it
    return guard


POSTER = "rex.poster"       # scope key: who an accepted event post speaks for
EVENTS = "/api/v1/events"


class _Guard:
    """ASGI middleware: the token check before anything else, and the headers every answer carries.

    A host's token (web.hosts) opens POST /api/v1/events and nothing else; the shared token
    opens everything."""

    def __init__(self, app, token, hosts=None):
        self.app = app
        self.token = token
        self.hosts = dict(hosts or {})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) + _SECURITY_HEADERS)
            await send(message)

        scope.pop(POSTER, None)                 # only the guard says who posts
        if scope["method"] == "POST" and scope["path"] == EVENTS and (self.token is not None or self.hosts):
            who = poster(_header(scope, b"authorization"), self.token, self.hosts)
            if who is None:
                return await _unauthorized(send_with_headers)
            return await self.app(dict(scope, **{POSTER: who}), receive, send_with_headers)
        needs = self.token is not None or scope["method"] == "POST"
        if needs and not token_matches(_header(scope, b"authorization"), self.token):
            if self.token is None:      # an event post to a server without a token: the route says why
                return await self.app(scope, receive, send_with_headers)
            return await _unauthorized(send_with_headers)
        return await self.app(scope, receive, send_with_headers)


class _Recent:
    """The answers of the last `fresh_for` seconds, by path and query (at most `size`)."""

    def __init__(self, fresh_for, size=64):
        self.fresh_for = fresh_for
        self.size = size
        self._answers = {}

    def get(self, key):
        found = self._answers.get(key)
        if found is None or time.monotonic() - found[0] > self.fresh_for:
            return None
        return found[1]

    def put(self, key, answer):
        now = time.monotonic()      # nothing older than a second is kept: a page is ~1 MB of 2,000 sets
        self._answers = {k: v for k, v in self._answers.items() if now - v[0] <= self.fresh_for}
        if len(self._answers) >= self.size:
            self._answers.clear()
        self._answers[key] = (now, answer)

    def clear(self):
        self._answers.clear()


def _json_bytes(value):
    # ASCII with \u escapes: a third faster to encode than UTF-8 text, the same JSON to every reader
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("ascii")


def _warm(status, on_error):
    try:
        status.sets()
    except Exception as exc:    # told, and asked again by the first request
        on_error(f"first inventory: {type(exc).__name__}: {exc}")


async def _unauthorized(send):
    body = json.dumps({"error": "this server needs its token (Authorization: Bearer TOKEN)"}).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Basic realm="rex-web", charset="UTF-8"')]})
    await send({"type": "http.response.body", "body": body})


def _header(scope, name):
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def _body(request, limit):
    """The request body, or None as soon as it exceeds `limit` bytes (never buffered beyond it)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def set_filters(params, empty_is_all=False):
    """The set filters of a query string, checked: {state, library, project, q, sort} given.
    An empty state or sort is the page form's "any"; the API refuses it (not in the enum)."""
    _only(params, ("state", "library", "project", "q", "sort"))
    query = {"state": _choice(params, "state", openapi.STATES, empty_is_all),
             "sort": _choice(params, "sort", openapi.SORTS, empty_is_all)}
    query.update({k: _text(params, k) for k in ("library", "project", "q")})
    return {k: v for k, v in query.items() if v not in (None, "")}


def _only(params, allowed):
    for key in params.keys():
        if key not in allowed:
            raise BadRequest(f"unknown parameter {_shown(key)} (known: {', '.join(allowed)})")
        if len(params.getlist(key)) > 1:
            raise BadRequest(f"parameter {key} given more than once")


def _choice(params, key, choices, empty_is_none=True):
    value = params.get(key)
    if value is None or (value == "" and empty_is_none):
        return None
    if value not in choices:
        raise BadRequest(f"{key}: {_shown(value)} is not one of {', '.join(choices)}")
    return value


def _text(params, key):
    value = params.get(key)
    if value is None:
        return None
    if len(value) > openapi.TEXT_MAX:
        raise BadRequest(f"{key}: longer than {openapi.TEXT_MAX} characters")
    return value


def _int(params, key, default, low, high):
    value = params.get(key)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise BadRequest(f"{key}: {_shown(value)} is not a whole number from {low} to {high}")
    return int(value)


def _shown(text):
    from ..log import printable

    text = printable(str(text))
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__
