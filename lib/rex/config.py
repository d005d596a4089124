"""Loading, validating and resolving the configuration.

Search order: --config FILE, $REX_CONFIG, $XDG_CONFIG_HOME/rex/rex.yaml,
/etc/rex/rex.yaml; no file means defaults. Precedence for each key: command-line
option > environment > file > default, and `source()` says which one won.
Errors cite file:line:column and suggest the nearest known key.
"""

import difflib
import os
import re

from . import paths, schema
from .durations import parse_duration
from .errors import ConfigError


class Problem:
    """One validation problem with its position in the file."""

    def __init__(self, file, line, column, message):
        self.file, self.line, self.column, self.message = file, line, column, message

    def __str__(self):
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


def find_file(explicit=None):
    """The configuration file to read, or None for defaults."""
    if explicit:
        if not os.path.exists(explicit):
            raise ConfigError(f"{explicit}: configuration file not found")
        return explicit
    env = os.environ.get("REX_CONFIG")
    if env:
        if not os.path.exists(env):
            raise ConfigError(f"{env}: configuration file named by REX_CONFIG not found")
        return env
    for candidate in (paths.user_config_file(), paths.SYSTEM_CONFIG_FILE):
        if os.path.exists(candidate):
            return candidate
    return None


def _position(node, key=None):
    """1-based (line, column) of a mapping key (or the node itself) in ruamel's tree."""
    try:
        if key is not None:
            line, col = node.lc.key(key)
        else:
            line, col = node.lc.line, node.lc.col
        return line + 1, col + 1
    except (AttributeError, KeyError, TypeError):
        return 1, 1


def _value_position(node, key):
    try:
        line, col = node.lc.value(key)
        return line + 1, col + 1
    except (AttributeError, KeyError, TypeError):
        return _position(node, key)


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
    from .rclone import check_remote   # rclone's syntax, known in one place; a pure check

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
            found.append(Misplaced(f"rule {n}: unknown key '{key}'{_suggest(str(key), ['match', 'preset'])}",
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
                raise Misplaced(f"rule {n}: unknown match key '{mkey}'{_suggest(mkey, RULE_MATCH_KEYS)}",
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


POLICY_KEYS = ("match", "keep_last", "keep_within", "keep_hourly", "keep_daily", "keep_weekly",
               "keep_monthly", "keep_yearly")


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
                raise Misplaced(f"policy {n}: unknown key '{pkey}'{_suggest(pkey, POLICY_KEYS)}",
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
    return _value_position(node, key) if value else _position(node, key)


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
            raise Misplaced(f"monitor {n}: unknown monitor kind '{first}'{_suggest(str(first), kinds)} "
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
        raise Misplaced(f"monitor {n}: unknown key '{key}' for {kind}{_suggest(key, MONITOR_OPTIONS[kind])}", spot)
    if key == "events":
        try:
            events = _strings(sub, f"monitor {n}: events must be a list of {', '.join(schema.REPORT_EVENTS)}")
        except ValueError as exc:
            raise Misplaced(str(exc), spot) from None
        bad = [e for e in events if e not in schema.REPORT_EVENTS]
        if bad:
            raise Misplaced(f"monitor {n}: unknown event '{bad[0]}'{_suggest(bad[0], schema.REPORT_EVENTS)} "
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


def _suggest(name, candidates):
    near = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{near[0]}'?)" if near else ""


MAX_BYTES = 1 << 20     # a configuration is a few kilobytes; /dev/zero is not one


def read_bounded(path, limit=MAX_BYTES):
    """The bytes of the configuration file `path`; ConfigError (78) for anything that is
    not a regular file (a directory, a FIFO, a device: it is never waited on) or is
    larger than `limit` bytes (at most limit + 1 are read)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    _require_regular(path, fd)
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(f"{path}: larger than {limit >> 20} MiB; not a configuration file")
    return data


def _require_regular(path, fd):
    """Nothing for a regular file; else close `fd` and raise ConfigError naming what it is."""
    import stat

    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        return
    os.close(fd)
    what = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
    raise ConfigError(f"{path}: not a regular file ({what})")


def parse_file(path):
    """Read and validate a file: ({key name: (value, 'file:line')}, [Problem])."""
    try:
        text = read_bounded(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        return {}, [Problem(path, 1, 1, f"not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = (exc.problem or exc.context or "invalid YAML").strip()
        return {}, [Problem(path, line, col, reason)]
    except Exception as exc:  # ruamel raises several unrelated types for bad input
        return {}, [Problem(path, 1, 1, f"invalid YAML: {exc}")]
    if tree is None:
        return {}, []
    if not isinstance(tree, dict):
        return {}, [Problem(path, 1, 1, "expected a mapping of keys at the top level")]
    values, problems = {}, []
    top_names = [k.leaf for k in schema.keys_in(None)] + [s for s in schema.SECTIONS if s]
    for name, value in tree.items():
        line, col = _position(tree, name)
        if not isinstance(name, str):
            problems.append(Problem(path, line, col, f"key {name!r} is not a name"))
            continue
        if name in schema.SECTIONS and name is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                problems.append(Problem(path, line, col, f"'{name}' must be a mapping of keys"))
                continue
            leaves = [k.leaf for k in schema.keys_in(name)]
            for leaf, sub in value.items():
                sline, scol = _position(value, leaf)
                full = f"{name}.{leaf}"
                if full not in schema.BY_NAME:
                    problems.append(Problem(path, sline, scol,
                                            f"unknown key '{full}'{_suggest(str(leaf), leaves)}"))
                    continue
                _take(schema.BY_NAME[full], sub, value, leaf, path, values, problems)
            continue
        if name not in schema.BY_NAME:
            problems.append(Problem(path, line, col, f"unknown key '{name}'{_suggest(name, top_names)}"))
            continue
        _take(schema.BY_NAME[name], value, tree, name, path, values, problems)
    return values, problems


def _take(key, raw, parent, leaf, path, values, problems):
    line, col = _value_position(parent, leaf)
    try:
        values[key.name] = (coerce(key, raw), f"{path}:{line}")
    except ValueError as exc:
        for each in getattr(exc, "problems", [exc]):        # Several: every problem in a list
            where = getattr(each, "position", None) or (line, col)
            problems.append(Problem(path, *where, f"{key.name}: {each}"))


def _set_variable(key, environ):
    """The first variable of `key.env` that is set (an empty one does not count), or None."""
    return next((var for var in key.env if environ.get(var, "") != ""), None)


def _from_environment(key, environ):
    """(value, 'environment VAR') from the environment, None when no variable of the key is
    set; ConfigError naming the variable when its value is bad."""
    var = _set_variable(key, environ)
    if var is None:
        return None
    try:
        return coerce(key, environ[var]), f"environment {var}"
    except ValueError as exc:
        raise ConfigError(f"environment {var}: {exc}") from None


def environment_problems(environ=None):
    """What is wrong with the environment variables that set keys (REX_*, PG*, ...): one
    message per variable, naming it, as every command would stop on it with 78."""
    environ = os.environ if environ is None else environ
    found = {}
    for key in schema.KEYS:
        var = _set_variable(key, environ)
        if var is not None and var not in found:
            try:
                _from_environment(key, environ)
            except ConfigError as exc:
                found[var] = exc.message
    return list(found.values())


def check_all(path, environ=None):
    """Every problem, as one-line messages, in the file at `path` (None: no file) and in
    the environment variables that set keys."""
    problems = [str(p) for p in parse_file(path)[1]] if path else []
    return problems + environment_problems(environ)


class Config:
    """The effective settings: every key's value and where it came from."""

    def __init__(self, file=None, file_values=None, options=None, environ=None):
        self.file = file
        environ = os.environ if environ is None else environ
        self._values = {}
        for key in schema.KEYS:
            value, source = key.default, "default"
            if key.type == "duration" and value is not None:
                value = parse_duration(value)
            if file_values and key.name in file_values:
                value, source = file_values[key.name]
            value, source = _from_environment(key, environ) or (value, source)
            if options and options.get(key.name) is not None:
                raw, source = options[key.name]
                try:
                    value = coerce(key, raw)
                except ValueError as exc:
                    from .errors import UsageError

                    raise UsageError(f"{source.replace('option ', '')}: {exc}") from None
            self._values[key.name] = (value, source)

    def get(self, name):
        return self._values[name][0]

    def source(self, name):
        return self._values[name][1]

    def items(self):
        return [(name, value, source) for name, (value, source) in self._values.items()]

    @property
    def backup_root(self):
        return self.get("backup_root") or paths.default_backup_root()

    def shown(self):
        """[(name, value, source)] as people read them and the file takes them back: the
        backup root the commands use when none is set, durations as `1h30m` or `30d`."""
        from .durations import format_duration

        def readable(key, value):
            if key.name == "backup_root":
                return self.backup_root
            if value is None:
                return value
            if key.type == "duration":
                return format_duration(value)
            if key.type == "policies":
                return [{k: format_duration(v) if k == "keep_within" else v for k, v in p.items()} for p in value]
            return value

        return [(name, readable(schema.BY_NAME[name], value), source) for name, value, source in self.items()]


def load(explicit=None, options=None):
    """The effective Config; ConfigError (78) on the first problem in the file.

    `options` maps key names to (value, 'option --flag') for options the user gave.
    """
    path = find_file(explicit)
    file_values = {}
    if path:
        file_values, problems = parse_file(path)
        if problems:
            more = f" (and {len(problems) - 1} more; run rex-config check)" if len(problems) > 1 else ""
            raise ConfigError(f"{problems[0]}{more}")
    return Config(path, file_values, options)
