"""The types of configuration values (heights, remotes, and the entries of proxy rules,
retention policies and monitors, which schema.Record declares and `walk` checks field by
field): each checked with the position of what is wrong, so `rex-config check` names
file:line:column for every problem.
"""

import difflib
import os
import re

from . import schema
from ..durations import parse_duration


def position(node, key=None):
    """1-based (line, column) of a mapping key (or the node itself) in ruamel's tree."""
    try:
        if key is not None:
            line, col = node.lc.key(key)
        else:
            line, col = node.lc.line, node.lc.col
        return line + 1, col + 1
    except (AttributeError, KeyError, TypeError):
        return 1, 1


def value_position(node, key):
    try:
        line, col = node.lc.value(key)
        return line + 1, col + 1
    except (AttributeError, KeyError, TypeError):
        return position(node, key)


def coerce(key, value):
    """The value of `key` converted to its type; ValueError with a reason otherwise."""
    if value is None:
        return None
    kind = key.type
    if kind in ("str", "path"):
        if isinstance(value, (dict, list, bool)):
            raise ValueError(f"expected a {'path' if kind == 'path' else 'string'}")
        text = str(value)
        return os.path.expanduser(text) if kind == "path" else text
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        try:
            number = int(str(value), 10)
        except ValueError:
            raise ValueError("expected a whole number") from None
        if key.minimum is not None and number < key.minimum:
            raise ValueError(f"must be at least {key.minimum}")
        if key.maximum is not None and number > key.maximum:
            raise ValueError(f"must be at most {key.maximum}")
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if kind == "duration":
        return parse_duration(value)
    if kind == "enum":
        if str(value) not in key.choices:
            raise ValueError(f"expected one of: {', '.join(key.choices)}")
        return str(value)
    if kind == "list":
        if isinstance(value, str):
            return [value]
        if not isinstance(value, (list, tuple)) or any(isinstance(v, (dict, list)) for v in value):
            raise ValueError("expected a list of strings")
        return [str(v) for v in value]
    if kind == "height":
        return _height(value)
    if kind == "remote":
        return _remote(value)
    if kind == "pathmap":
        return _pathmap(value)
    if kind == "rules":
        return _records(value, schema.RULE, "rules ({match: {...}, preset: NAME})")
    if kind == "policies":
        return _records(value, schema.POLICY, "policies ({match: GLOB, keep_daily: N, ...})")
    if kind == "monitors":
        return _monitors(value)
    if kind == "job-monitors":
        return _job_monitors(value)
    if kind == "daemon-jobs":
        return _daemon_jobs(value)
    if kind == "intervals":
        return walk(schema.EXPECT, value, key.leaf, None)
    if kind == "host-files":
        return _host_files(value)
    raise ValueError(f"unknown type {kind}")


HEIGHT_WORDS = ("original", "half", "quarter", "eighth", "sixteenth")


def _height(value):
    """A proxy height: pixels (16-8640) or a fraction of the source's, by name."""
    text = str(value).strip().lower()
    if isinstance(value, bool) or not text:
        raise ValueError("expected a height")
    if text in HEIGHT_WORDS:
        return text
    if text.endswith("p"):
        text = text[:-1]
    if text.isdigit() and 16 <= int(text) <= 8640:
        return int(text)
    raise ValueError(f"expected a height in pixels (16-8640) or one of {', '.join(HEIGHT_WORDS)}")


def _pathmap(value):
    """farm.path_map as a {queuer: worker} mapping of absolute paths: from a mapping, or a list
    of "A: B" strings or one-entry mappings (proxy.pathmap checks that it can be reversed)."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = []
        for entry in value:
            if isinstance(entry, dict) and len(entry) == 1:
                items.extend(entry.items())
            elif isinstance(entry, str) and ": " in entry:
                items.append(tuple(entry.split(": ", 1)))
            else:
                raise ValueError(f"{entry!r}: expected \"QUEUER_PATH: WORKER_PATH\"")
    else:
        raise ValueError("expected a mapping of queuer paths to worker paths")
    clean = {}
    for a, b in items:
        for path in (a, b):
            if not isinstance(path, str) or not path.startswith("/"):
                raise ValueError(f"{path!r}: expected an absolute path")
        clean[os.path.normpath(a)] = os.path.normpath(b)
    return clean


def _remote(value):
    """An rclone remote as rex-upload takes it (NAME:PATH or :BACKEND:PATH), normalised."""
    from ..remotepath import check_remote   # rclone's syntax, known in one place (base layer); a pure check

    if isinstance(value, (dict, list, bool)):
        raise ValueError("expected an rclone remote and path, REMOTE:PATH")
    return check_remote(str(value))


def _records(value, record, listed):
    """A list of entries of `record` as plain dicts; every problem of every entry (Several),
    each at its spot."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of {listed}")
    return _each(value, lambda item, n, where: walk(record, item, f"{record.noun} {n}", where))


def walk(record, item, label, where, unknown="key", suffix=""):
    """The clean value of one entry of a schema.Record: each field checked by its type (a
    bad value cited at the value, an unknown key at the key), required fields present, then
    the Record's own check; every problem found (Several), each prefixed with `label`."""
    import copy

    if not isinstance(item, dict):
        raise Misplaced(f"{label}: expected {record.shape}", where)
    fields = {f.name: f for f in record.fields}
    clean = {f.name: copy.deepcopy(f.default) for f in record.fields if f.default is not schema.UNSET}
    found = []
    for key, value in item.items():
        key = str(key)
        if key not in fields:
            found.append(Misplaced(f"{label}: unknown {unknown} '{key}'{suffix}{suggest(key, list(fields))}",
                                   _at(item, key) or where))
            continue
        spot = _at(item, key, value=True) or where
        try:
            clean[key] = _field(fields[key], value, label, spot)
        except ValueError as exc:
            found.extend(_placed(exc, spot))
    for field in record.fields:
        if field.required and field.name not in item:
            if isinstance(field.required, str):
                found.append(Misplaced(f"{label}: {field.required}", where))
                continue
            try:
                _field(field, None, label, where)      # absent: the problem its type has with nothing
            except ValueError as exc:
                found.extend(_placed(exc, where))
    problem = record.check(clean) if record.check and not found else None
    if problem:
        found.append(Misplaced(f"{label}: {problem}", where))
    _raise(found)
    return clean


def _field(field, value, label, spot):
    """The clean value of one field; ValueError naming `label` and the field otherwise."""
    if isinstance(field.type, schema.Record):
        if value and not isinstance(value, dict):
            raise ValueError(f"{label}: {field.name} must be a mapping")
        return walk(field.type, value or {}, label, spot, unknown=f"{field.name} key")
    try:
        return FIELD_TYPES[field.type](field, value)
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None


def _whole(value, problem):
    """A whole number >= 0 written as one (YAML may give 30 or "30", never true); ValueError(problem)."""
    if isinstance(value, bool) or not str(value).isdigit():
        raise ValueError(problem)
    return int(str(value))


def _strings(value, problem, empty=True):
    """A string or a list of strings as a list of strings; ValueError(problem) otherwise."""
    items = [value] if isinstance(value, str) else value
    if (not isinstance(items, (list, tuple)) or (not empty and not items)
            or any(isinstance(i, (dict, list)) or i is None for i in items)):
        raise ValueError(problem)
    return [str(i) for i in items]


def _duration(field, value):
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{field.name}: {exc}") from None


def _choice(field, value):
    if str(value) not in field.choices:
        raise ValueError(f"{field.name} must be one of: {', '.join(field.choices)}")
    return str(value)


def _events(field, value):
    events = _strings(value, f"{field.name} must be a list of {', '.join(schema.REPORT_EVENTS)}")
    bad = [e for e in events if e not in schema.REPORT_EVENTS]
    if bad:
        raise ValueError(f"unknown event '{bad[0]}'{suggest(bad[0], schema.REPORT_EVENTS)} "
                         f"(one of: {', '.join(schema.REPORT_EVENTS)})")
    return events


def _env_name(field, value):
    if not (isinstance(value, str) and _ENV_NAME.fullmatch(value)):
        raise ValueError(f"{field.name} must name an environment variable")
    return value


def _string(field, value):
    if isinstance(value, (dict, list, bool)) or value is None:
        raise ValueError(f"{field.name} must be a string")
    return str(value)


def _switch(field, value):
    if not isinstance(value, bool):
        raise ValueError(f"{field.name} must be true or false")
    return value


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _url(field, value):
    """An http(s) URL ($NAME: read from the environment when sending)."""
    text = value if isinstance(value, str) else ""
    if text.startswith("$"):
        name = text[1:].strip("{}") if text.startswith("${") and text.endswith("}") else text[1:]
        if _ENV_NAME.fullmatch(name):
            return "$" + name
        raise ValueError(f"{text!r} is not an environment variable name")
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        parts = None
    if not parts or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        raise ValueError(f"{field.name} needs an http:// or https:// URL, not {value!r}")
    return text


def _path(field, value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field.name} must be a path")
    return os.path.expanduser(value)


def _host_files(value):
    """{host name: file} (web.hosts): each name a host name as the run history keeps it,
    each file a path; every problem (Several), each at its spot."""
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of host names to token files (bay1: /etc/rex/web-bay1.token)")
    hosts, found = {}, []
    for host, path in value.items():
        if isinstance(host, bool) or not re.match(schema.HOST_NAME, str(host)):
            found.append(Misplaced(f"{str(host)[:60]!r} is not a host name (letters, digits, . _ -)",
                                   _at(value, host)))
            continue
        if not isinstance(path, str) or not path.strip():
            found.append(Misplaced(f"{host}: expected the path of the file holding its token",
                                   _at(value, host, value=path is not None)))   # nothing: at its key
            continue
        hosts[str(host)] = os.path.expanduser(path)
    _raise(found)
    return hosts


def _job_name(field, value):
    """A name as rex-report takes it: no spaces, no control characters."""
    if not isinstance(value, str) or not value or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError(f"{field.name} must be a job name (no spaces)")
    return value


def _pipeline(field, value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field.name} must be a command line")
    return value


def _when(field, value):
    """A schedule (rex.when); "every N seconds" only for the tests (REX_DAEMON_TEST_SECONDS)."""
    from .. import when

    try:
        return when.parse(value, seconds=bool(os.environ.get("REX_DAEMON_TEST_SECONDS")))
    except ValueError as exc:
        raise ValueError(f"{field.name}: {exc}") from None


# Each field type of schema.Field: (field, value) -> clean value, or ValueError with the problem.
FIELD_TYPES = {
    "strings": lambda f, v: _strings(v, f"{f.name} must be a string or a list of strings"),
    "patterns": lambda f, v: _strings(v, f"{f.name} must be a pattern or a list of patterns", empty=False),
    "pixels": lambda f, v: _whole(v, f"{f.name} must be a whole number of pixels"),
    "count": lambda f, v: _whole(v, f"{f.name} must be a whole number >= 0"),
    "duration": _duration, "choice": _choice, "events": _events, "env-name": _env_name,
    "string": _string, "switch": _switch, "url": _url, "path": _path,
    "job-name": _job_name, "pipeline": _pipeline, "when": _when,
}

POLICY_KEYS = schema.POLICY.names


class Misplaced(ValueError):
    """A problem inside a nested value, with the (line, column) it was found at."""

    def __init__(self, message, position):
        super().__init__(message)
        self.position = position


def _item_position(seq, index):
    try:
        line, col = seq.lc.item(index)
        return line + 1, col + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def _at(node, key=None, value=False):
    """Position of a key (or its value) in a ruamel mapping; None for plain data."""
    if not hasattr(node, "lc"):
        return None
    return value_position(node, key) if value else position(node, key)


class Several(ValueError):
    """Every problem found in one value, each a Misplaced (or a ValueError without a spot)."""

    def __init__(self, problems):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def _placed(exc, where):
    """The problems in `exc`, each with a spot (`where` for those that have none)."""
    return [p if getattr(p, "position", None) else Misplaced(str(p), where)
            for p in getattr(exc, "problems", [exc])]


def _raise(found):
    if found:
        raise found[0] if len(found) == 1 else Several(found)


def _each(items, check):
    """[check(item, n, where)] over a YAML list, checking every item: Several names every
    problem in every item, so one run of rex-config check shows them all."""
    results, found = [], []
    for n, item in enumerate(items, 1):
        where = _item_position(items, n - 1)
        try:
            results.append(check(item, n, where))
        except ValueError as exc:
            found.extend(_placed(exc, where))
    _raise(found)
    return results


def _monitors(value):
    """A list of monitors, each {KIND: URL or true, events: [...], token/token_env: ...},
    as plain dicts {kind, target, events, token, token_env}; every problem (Several), each
    citing its spot."""
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of monitors (- healthchecks: URL, - ntfy: URL, ...)")
    return _each(value, _monitor)


def _monitor(item, n, where):
    """One monitor: the kind it names picks its Record (schema.MONITORS), which is walked."""
    kinds = schema.MONITOR_KINDS
    if not isinstance(item, dict):
        raise Misplaced(f"monitor {n}: expected {schema.MONITORS[kinds[0]].shape}", where)
    found = [str(k) for k in item if str(k) in kinds]
    if len(found) != 1:
        first = next(iter(item), None)
        spot = _at(item, first) or where
        if not found and first is not None:
            raise Misplaced(f"monitor {n}: unknown monitor kind '{first}'{suggest(str(first), kinds)} "
                            f"(one of: {', '.join(kinds)})", spot)
        raise Misplaced(f"monitor {n}: name exactly one kind of {', '.join(kinds)}", spot)
    kind = found[0]
    clean = walk(schema.MONITORS[kind], item, f"monitor {n}", where, suffix=f" for {kind}")
    target = clean.pop(kind)
    return {"token": None, "token_env": None, **clean, "kind": kind, "target": target}


def _job_monitors(value):
    """{job name: [monitor, ...]} with each list validated as report.monitors; every
    problem of every job (Several)."""
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of job names to lists of monitors")
    jobs, found = {}, []
    for job, monitors in value.items():
        spot = _at(value, job, value=True)
        if not isinstance(job, str) or not job:
            found.append(Misplaced(f"job {job!r}: a job name must be a string", _at(value, job)))
            continue
        if monitors is None:
            monitors = []
        if not isinstance(monitors, (list, tuple)):
            found.append(Misplaced(f"job {job}: expected a list of monitors", spot))
            continue
        try:
            jobs[job] = _monitors(monitors)
        except ValueError as exc:
            found.extend(Misplaced(f"{job}: {p}" if getattr(p, "position", None) else f"job {job}: {p}",
                                   getattr(p, "position", None) or spot)
                         for p in getattr(exc, "problems", [exc]))
    _raise(found)
    return jobs


def _daemon_jobs(value):
    """rexd's jobs: each entry walked (schema.DAEMON_JOB), then the list as a whole: names
    unique, each after naming a job of the list, no job following itself round a loop.
    Every problem of every entry and of the list (Several), each at its spot."""
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of jobs ({name: N, when: ..., run: ...})")
    found, jobs, names = [], [], {}
    for n, item in enumerate(value, 1):
        where = _item_position(value, n - 1)
        try:
            jobs.append(walk(schema.DAEMON_JOB, item, f"job {n}", where))
        except ValueError as exc:
            found.extend(_placed(exc, where))
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in names:
            found.append(Misplaced(f"job {n}: the name '{name}' is taken by job {names[name]}",
                                   _at(item, "name", value=True) or where))
        names.setdefault(name, n)
    follows = {str(i.get("name")): i.get("after") for i in value if isinstance(i, dict)}
    for n, item in enumerate(value, 1):
        after = item.get("after") if isinstance(item, dict) else None
        if not isinstance(after, str):
            continue
        spot = _at(item, "after", value=True) or _item_position(value, n - 1)
        if after not in names:
            found.append(Misplaced(f"job {n}: after: no job named '{after}'{suggest(after, list(names))}", spot))
            continue
        seen, step = {str(item.get("name"))}, after
        while isinstance(step, str) and step not in seen:
            seen.add(step)
            step = follows.get(step)
        if step == item.get("name"):
            found.append(Misplaced(f"job {n}: after: '{step}' would follow itself", spot))
    _raise(found)
    return jobs


def suggest(name, candidates):
    near = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{near[0]}'?)" if near else ""
