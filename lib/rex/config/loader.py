"""Loading, validating and resolving the configuration.

Search order: --config FILE, $REX_CONFIG, $XDG_CONFIG_HOME/rex/rex.yaml,
/etc/rex/rex.yaml; no file means defaults. Precedence for each key: command-line
option > environment > file > default, and `source()` says which one won.
Errors cite file:line:column and suggest the nearest known key.
"""

import os

from .. import paths
from . import schema
from ..durations import parse_duration
from ..errors import ConfigError
from .types import Several, position, suggest, value_position, coerce


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
        line, col = position(tree, name)
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
                sline, scol = position(value, leaf)
                full = f"{name}.{leaf}"
                if full not in schema.BY_NAME:
                    problems.append(Problem(path, sline, scol,
                                            f"unknown key '{full}'{suggest(str(leaf), leaves)}"))
                    continue
                _take(schema.BY_NAME[full], sub, value, leaf, path, values, problems)
            continue
        if name not in schema.BY_NAME:
            problems.append(Problem(path, line, col, f"unknown key '{name}'{suggest(name, top_names)}"))
            continue
        _take(schema.BY_NAME[name], value, tree, name, path, values, problems)
    return values, problems


def _take(key, raw, parent, leaf, path, values, problems):
    line, col = value_position(parent, leaf)
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
            if key.type == "intervals":
                value = coerce(key, value)
            if file_values and key.name in file_values:
                value, source = file_values[key.name]
            value, source = _from_environment(key, environ) or (value, source)
            if options and options.get(key.name) is not None:
                raw, source = options[key.name]
                try:
                    value = coerce(key, raw)
                except ValueError as exc:
                    from ..errors import UsageError

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
        from ..durations import format_duration

        def readable(key, value):
            if key.name == "backup_root":
                return self.backup_root
            if value is None:
                return value
            if key.type == "duration":
                return format_duration(value)
            if key.type == "intervals":
                return {kind: format_duration(v) for kind, v in value.items()}
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
