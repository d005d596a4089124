"""The OpenAPI 3.1 document of rex-web's API, served at /api/v1/openapi.json.

Written out by hand, once: the app validates query parameters against the same
constants (STATES, SORT_KEYS, the limits), and the tests hold every response to this
document with schemathesis.
"""

from ..monitor.history import MAX_POST, POST_SCHEMA
from ..monitor.history import STATUSES as RUN_STATUSES
from .freshness import STATES
from .status import SORTS as SORT_KEYS
from .status import VERDICTS

SORTS = SORT_KEYS + tuple("-" + k for k in SORT_KEYS)
TEXT_MAX = 200          # the longest filter value (library, project, q, job, host)
JOBS_MAX = 1000         # the most runs one request returns
# Health: the HTTP status a load balancer or uptime checker reads.
HEALTH_STATUS = {"OK": 200, "WARNING": 200, "CRITICAL": 503}

_str = {"type": "string"}
_nstr = {"type": ["string", "null"]}
_nint = {"type": ["integer", "null"]}
_nnum = {"type": ["number", "null"]}
_text = {"type": "string", "maxLength": TEXT_MAX}


def _timed(schema):
    """`schema` with every event's time declared a date-time (what the history parses)."""
    if isinstance(schema, dict):
        out = {k: _timed(v) for k, v in schema.items()}
        if out.get("type") == "object" and "time" in out.get("properties", {}):
            out["properties"] = dict(out["properties"], time={**out["properties"]["time"], "format": "date-time"})
        return out
    if isinstance(schema, list):
        return [_timed(v) for v in schema]
    return schema


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "The request was refused; `error` says why in one line.")
_UNAUTHORIZED = _json(_ref("Error"), "The token is missing or wrong (required when rex-web listens beyond "
                                     "loopback, or whenever a token is configured).")


def _query(name, schema, description):
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": _str}},
    "Set": {
        "type": "object",
        "description": "One backup set: a library's dumps, a project's exports, a server's globals.",
        "required": ["id", "kind", "state", "reasons", "count"],
        "properties": {
            "id": {"type": "string", "description": "Stable and URL-safe: /api/v1/sets/{id}."},
            "kind": _str, "server": _nstr, "library": _nstr, "project": _nstr, "name": _nstr, "ext": _nstr,
            "directory": {**_nstr, "description": "The set's directory under the backup root."},
            "expected_s": {**_nnum, "description": "How often a backup is expected (web.expect)."},
            "newest": {**_nstr, "description": "Stamp of the newest backup (ISO 8601 UTC)."},
            "age_s": {**_nnum, "description": "Age of the newest backup in seconds."},
            "count": {"type": "integer", "minimum": 0},
            "bytes": {**_nint, "description": "Bytes on disk."},
            "saved_bytes": {**_nint, "description": "Bytes saved by dedupe links."},
            "verified_newest": _nstr, "verified_at": _nstr, "verify_failed": {"type": ["boolean", "null"]},
            "uploaded_newest": _nstr, "uploaded_at": _nstr,
            "state": {"type": "string", "enum": list(STATES)},
            "reasons": {"type": "array", "items": _str},
        },
    },
    "Sets": {"type": "object", "required": ["sets", "total"],
             "properties": {"sets": {"type": "array", "items": _ref("Set")},
                            "total": {"type": "integer", "minimum": 0,
                                      "description": "Sets in the inventory before filtering."}}},
    "Run": {
        "type": "object", "description": "One run of a job on a host, from the run history.",
        "required": ["job", "host", "status"],
        "properties": {"run_id": _nstr, "job": _str, "host": _str, "started": _nstr, "ended": _nstr,
                       "duration_s": _nnum, "status": {"type": "string", "enum": list(RUN_STATUSES)},
                       "exit_code": _nint, "reason": _nstr, "log_tail": _nstr},
    },
    "Runs": {"type": "object", "required": ["runs"], "properties": {"runs": {"type": "array", "items": _ref("Run")}}},
    "Section": {"type": "object", "required": ["configured"],
                "description": "A part of the facility: `configured` false when it is not set up here.",
                "properties": {"configured": {"type": "boolean"}}},
    "Health": {"type": "object", "required": ["verdict", "reasons"],
               "properties": {"verdict": {"type": "string", "enum": list(VERDICTS)},
                              "reasons": {"type": "array", "items": _str}}},
    "Post": {**_timed(POST_SCHEMA), "description": "What rex-report's webhook monitor sends: one event, a list of "
                                           "them or {\"events\": [...]}, all of one host."},
    "Recorded": {"type": "object", "required": ["recorded"],
                 "properties": {"recorded": {"type": "integer", "minimum": 0}}},
}


def document(version, max_event_bytes=MAX_POST):
    """The OpenAPI document (a dict, served as JSON)."""
    secured = [{"bearer": []}, {"basic": []}, {}]
    get = {"security": secured}
    bad = {"400": _ERROR, "401": _UNAUTHORIZED}
    return {
        "openapi": "3.1.0",
        "info": {"title": "rex-web", "version": version,
                 "description": "Read-only state of a Rex facility: backup sets, job runs, standby, farm. "
                                "No endpoint changes a backup."},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "web.token_file or REX_WEB_TOKEN of the server."},
                "basic": {"type": "http", "scheme": "basic",
                          "description": "Any user name, the token as password (a browser's prompt)."}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/": {"get": {**get, "operationId": "page", "summary": "The status page (HTML).",
                          "parameters": _set_filters(page=True),
                          "responses": {"200": {"description": "The page.",
                                                "content": {"text/html": {"schema": _str}}}, **bad}}},
            "/api/v1/sets": {"get": {**get, "operationId": "sets", "summary": "Every backup set, filtered and sorted.",
                                     "parameters": _set_filters(),
                                     "responses": {"200": _json(_ref("Sets"), "The sets."), **bad}}},
            "/api/v1/sets/{id}": {"get": {
                **get, "operationId": "set", "summary": "One backup set.",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": _str,
                                "description": "The set's id, as /api/v1/sets gives it."}],
                "responses": {"200": _json(_ref("Set"), "The set."), "401": _UNAUTHORIZED,
                              "404": _json(_ref("Error"), "No set has this id.")}}},
            "/api/v1/jobs": {"get": {
                **get, "operationId": "jobs", "summary": "The latest runs of every job, newest first.",
                "parameters": [
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": JOBS_MAX, "default": 100},
                           "How many runs."),
                    _query("job", _text, "Only this job."), _query("host", _text, "Only this host."),
                    _query("status", {"type": "string", "enum": list(RUN_STATUSES)}, "Only runs in this status.")],
                "responses": {"200": _json(_ref("Runs"), "The runs."), **bad}}},
            "/api/v1/standby": {"get": {
                **get, "operationId": "standby", "summary": "rex-standby's status record and its thresholds.",
                "responses": {"200": _json(_ref("Section"), "The standby, or configured false."),
                              "401": _UNAUTHORIZED}}},
            "/api/v1/farm": {"get": {
                **get, "operationId": "farm", "summary": "Queues, workers and recent failures of the proxy farm.",
                "responses": {"200": _json(_ref("Section"), "The farm, or configured false."),
                              "401": _UNAUTHORIZED}}},
            "/api/v1/health": {"get": {
                **get, "operationId": "health",
                "summary": "The overall verdict: HTTP 200 for OK and WARNING, 503 for CRITICAL.",
                "responses": {"200": _json(_ref("Health"), "OK or WARNING."),
                              "503": _json(_ref("Health"), "CRITICAL."), "401": _UNAUTHORIZED}}},
            "/api/v1/events": {"post": {
                "operationId": "events", "security": [{"bearer": []}],
                "summary": "Record job events of one host in the run history (rex-report's webhook).",
                "description": f"At most {max_event_bytes} bytes; every event must name the same host, and "
                               "touches only that host's runs. Needs a token, always: a host's own "
                               "(web.hosts) records runs of that host only; the shared token records runs "
                               "of any host without a token of its own.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Post")}}},
                "responses": {"202": _json(_ref("Recorded"), "Recorded."), **bad,
                              "403": _json(_ref("Error"), "This server has no token: it takes no events; "
                                                          "or the post names a host its token may not write."),
                              "413": _json(_ref("Error"), "The body is too large."),
                              "415": _json(_ref("Error"), "The body is not application/json.")}}},
            "/metrics": {"get": {
                **get, "operationId": "metrics", "summary": "Prometheus text exposition.",
                "responses": {"200": {"description": "The metrics.", "content": {"text/plain": {"schema": _str}}},
                              "401": _UNAUTHORIZED}}},
            "/api/v1/openapi.json": {"get": {
                **get, "operationId": "openapi", "summary": "This document.",
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document."),
                              "401": _UNAUTHORIZED}}},
        },
    }


def _set_filters(page=False):
    """The filters of /api/v1/sets; the page's form also sends an empty state for "every state"."""
    return [_query("state", {"type": "string", "enum": [""] * page + list(STATES)}, "Only sets in this state."),
            _query("library", _text, "Only sets of this library."),
            _query("project", _text, "Only sets of this project."),
            _query("q", _text, "Only sets whose name, library or project contains this (any case)."),
            _query("sort", {"type": "string", "enum": [""] * page + list(SORTS)}, "Sort key; a leading - reverses.")]
