"""The types of nested configuration values (heights, remotes, proxy rules, retention
policies, monitors, per-job monitors): each checked with the position of what is
wrong, so `rex-config check` names file:line:column for every problem.
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
    if kind == "rules":
        return _rules(value, key.choices)
    if kind == "policies":
        return _policies(value)
    if kind == "monitors":
        return _monitors(value)
    if kind == "job-monitors":
        return _job_monitors(value)
    raise ValueError(f"unknown type {kind}")


HEIGHT_WORDS = ("original", "half", "quarter", "eighth", "sixteenth")
RULE_MATCH_KEYS = ("ext", "glob", "min_height", "max_height", "min_width", "max_width")


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


def _remote(value):
    """An rclone remote as rex-upload takes it (NAME:PATH or :BACKEND:PATH), normalised."""
    from ..remotepath import check_remote   # rclone's syntax, known in one place (base layer); a pure check

    if isinstance(value, (dict, list, bool)):
        raise ValueError("expected an rclone remote and path, REMOTE:PATH")
    return check_remote(str(value))


def _rules(value, presets):
    """A list of {match: {...}, preset: NAME} mappings, as plain dicts and lists; every
    problem found (Several), each at its spot."""
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of rules ({match: {...}, preset: NAME})")
    return _each(value, lambda rule, n, where: _rule(rule, n, where, presets))


def _rule(rule, n, where, presets):
    if not isinstance(rule, dict):
        raise Misplaced(f"rule {n}: expected a mapping with match and preset", where)
    found = []
    for key in rule:
        if str(key) not in ("match", "preset"):
            found.append(Misplaced(f"rule {n}: unknown key '{key}'{suggest(str(key), ['match', 'preset'])}",
                                   _at(rule, key) or where))
    match = rule.get("match") or {}
    clean = {}
    if not isinstance(match, dict):
        found.append(Misplaced(f"rule {n}: match must be a mapping", _at(rule, "match", value=True) or where))
        match = {}
    for mkey, mvalue in match.items():
        mkey = str(mkey)
        try:
            if mkey not in RULE_MATCH_KEYS:
                raise Misplaced(f"rule {n}: unknown match key '{mkey}'{suggest(mkey, RULE_MATCH_KEYS)}",
                                _at(match, mkey) or where)
            if mkey in ("ext", "glob"):
                clean[mkey] = _strings(mvalue, f"rule {n}: {mkey} must be a string or a list of strings")
            else:
                clean[mkey] = _whole(mvalue, f"rule {n}: {mkey} must be a whole number of pixels")
        except ValueError as exc:
            found.extend(_placed(exc, _at(match, mkey, value=True) or where))
    preset = rule.get("preset")
    if presets and str(preset) not in presets:
        found.append(Misplaced(f"rule {n}: preset must be one of: {', '.join(presets)}",
                               _at(rule, "preset", value=True) if "preset" in rule else where))
    _raise(found)
    return {"match": clean, "preset": str(preset)}


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


POLICY_KEYS = ("match",) + schema.RETENTION_KEYS


def _policies(value):
    """A list of {match: GLOB or [GLOB, ...], keep_*: ...} retention policies, as plain dicts
    ({match: [...], keep_within: seconds, keep_daily: 30, ...}); each must keep something.
    Every problem found (Several), each at its spot."""
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of policies ({match: GLOB, keep_daily: N, ...})")
    return _each(value, _policy)


def _policy(item, n, where):
    if not isinstance(item, dict):
        raise Misplaced(f"policy {n}: expected a mapping with match and keep_* keys", where)
    clean, found = {}, []
    for pkey, pvalue in item.items():
        pkey = str(pkey)
        try:
            if pkey not in POLICY_KEYS:
                raise Misplaced(f"policy {n}: unknown key '{pkey}'{suggest(pkey, POLICY_KEYS)}",
                                _at(item, pkey) or where)
            if pkey == "match":
                clean["match"] = _strings(pvalue, f"policy {n}: match must be a pattern or a list of patterns",
                                          empty=False)
            elif pkey == "keep_within":
                try:
                    clean[pkey] = parse_duration(pvalue)
                except ValueError as exc:
                    raise ValueError(f"policy {n}: keep_within: {exc}") from None
            else:
                clean[pkey] = _whole(pvalue, f"policy {n}: {pkey} must be a whole number >= 0")
        except ValueError as exc:
            found.extend(_placed(exc, _at(item, pkey, value=True) or where))
    if "match" not in item:
        found.append(Misplaced(f"policy {n}: no match (the sets it applies to)", where))
    elif not found and not any(clean.get(k) for k in POLICY_KEYS[1:]):
        found.append(Misplaced(f"policy {n}: keeps nothing by rule; give at least one keep_* key above 0", where))
    _raise(found)
    return clean


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


MONITOR_OPTIONS = {"healthchecks": ("events",), "ntfy": ("events", "token", "token_env"),
                   "webhook": ("events", "token", "token_env"), "desktop": ("events",)}


def _monitors(value):
    """A list of monitors, each {KIND: URL or true, events: [...], token/token_env: ...},
    as plain dicts {kind, target, events, token, token_env}; every problem (Several), each
    citing its spot."""
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of monitors (- healthchecks: URL, - ntfy: URL, ...)")
    return _each(value, _monitor)


def _monitor(item, n, where):
    kinds = schema.MONITOR_KINDS
    if not isinstance(item, dict):
        raise Misplaced(f"monitor {n}: expected a mapping such as healthchecks: URL", where)
    found = [str(k) for k in item if str(k) in kinds]
    if len(found) != 1:
        first = next(iter(item), None)
        spot = _at(item, first) or where
        if not found and first is not None:
            raise Misplaced(f"monitor {n}: unknown monitor kind '{first}'{suggest(str(first), kinds)} "
                            f"(one of: {', '.join(kinds)})", spot)
        raise Misplaced(f"monitor {n}: name exactly one kind of {', '.join(kinds)}", spot)
    kind = found[0]
    clean = {"kind": kind, "events": _default_events(kind), "token": None, "token_env": None}
    problems = []
    for key, sub in item.items():
        key = str(key)
        known = key == kind or key in MONITOR_OPTIONS[kind]    # an unknown key is cited, a known one's value
        try:
            clean["target" if key == kind else key] = _monitor_option(kind, key, sub, n,
                                                                      _at(item, key, value=known) or where)
        except Misplaced as exc:
            problems.append(exc)
    _raise(problems)
    return clean


def _monitor_option(kind, key, sub, n, spot):
    """The clean value of one key of a monitor of `kind`; Misplaced at `spot` otherwise."""
    if key == kind:
        return _monitor_target(kind, sub, n, spot)
    if key not in MONITOR_OPTIONS[kind]:
        raise Misplaced(f"monitor {n}: unknown key '{key}' for {kind}{suggest(key, MONITOR_OPTIONS[kind])}", spot)
    if key == "events":
        try:
            events = _strings(sub, f"monitor {n}: events must be a list of {', '.join(schema.REPORT_EVENTS)}")
        except ValueError as exc:
            raise Misplaced(str(exc), spot) from None
        bad = [e for e in events if e not in schema.REPORT_EVENTS]
        if bad:
            raise Misplaced(f"monitor {n}: unknown event '{bad[0]}'{suggest(bad[0], schema.REPORT_EVENTS)} "
                            f"(one of: {', '.join(schema.REPORT_EVENTS)})", spot)
        return events
    if key == "token_env":
        if not (isinstance(sub, str) and _ENV_NAME.fullmatch(sub)):
            raise Misplaced(f"monitor {n}: token_env must name an environment variable", spot)
        return sub
    if isinstance(sub, (dict, list, bool)) or sub is None:
        raise Misplaced(f"monitor {n}: token must be a string", spot)
    return str(sub)


def _default_events(kind):
    """Pings and webhooks want every event; people (ntfy, desktop) only failures."""
    return list(schema.REPORT_EVENTS) if kind in ("healthchecks", "webhook") else ["failure"]


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _monitor_target(kind, value, n, spot):
    """The URL of an HTTP monitor ($NAME: read from the environment when sending), or
    True/False for desktop."""
    if kind == "desktop":
        if not isinstance(value, bool):
            raise Misplaced(f"monitor {n}: desktop must be true or false", spot)
        return value
    text = value if isinstance(value, str) else ""
    if text.startswith("$"):
        name = text[1:].strip("{}") if text.startswith("${") and text.endswith("}") else text[1:]
        if _ENV_NAME.fullmatch(name):
            return "$" + name
        raise Misplaced(f"monitor {n}: {text!r} is not an environment variable name", spot)
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        parts = None
    if not parts or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        raise Misplaced(f"monitor {n}: {kind} needs an http:// or https:// URL, not {value!r}", spot)
    return text


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


def suggest(name, candidates):
    near = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{near[0]}'?)" if near else ""
