"""The record contract shared by every command.

A record is one line (LF) or, with -0, one NUL-terminated string. A line that
starts with `{` is a JSON object; anything else is a path. Output is plain paths,
`SOURCE<TAB>TARGET` pairs, JSON Lines (--json) or NUL-terminated (-0).
"""

import json
import os
import sys

from .errors import PARTIAL, DataError, RexError, UsageError
from .log import printable

PATH_MAX = 4096      # bytes: no system takes a longer path, so a longer record is garbage
QUOTE_MAX = 200      # characters of a record an error message quotes


class PipeClosed(Exception):
    """The reader of stdout went away. Not an OSError, so that no `except OSError` on the
    way (a removal, a copy) takes it for a failure of its own; `cli.run` ends quietly."""


class Record(dict):
    """One input record: a dict with at least `path` (a JSON record keeps all its keys)."""

    @property
    def path(self):
        return self.get("path")


def shown(text, limit=QUOTE_MAX):
    """A record as an error message quotes it: control characters and undecodable bytes
    escaped (never raw to a terminal), cut after `limit` characters with `...`."""
    text = os.fspath(text)
    cut = len(text) > limit
    text = printable(text[:limit])
    return text + "..." if cut else text


def parse(text):
    """Turn one record's text into a Record (JSON object or path); DataError when it is
    malformed: not JSON, no non-empty string `path`, or a path no system accepts."""
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise DataError(f"malformed JSON record ({exc.msg} at column {exc.colno}): {shown(text)}") from None
        if not isinstance(value, dict):
            raise DataError(f"malformed JSON record (not an object): {shown(text)}")
        if "path" not in value:
            for alias in ("source", "file"):
                if isinstance(value.get(alias), str):
                    value["path"] = value[alias]
                    break
        if not isinstance(value.get("path"), str) or not value["path"]:
            raise DataError(f"malformed JSON record (no \"path\" string): {shown(text)}")
        return _checked(Record(value), text)
    return _checked(Record(path=text), text)


def _checked(record, text):
    path = record["path"]
    if "\0" in path:
        raise DataError(f"malformed record (a NUL in the path): {shown(text)}")
    if len(path) > PATH_MAX and len(os.fsencode(path)) > PATH_MAX:
        raise DataError(f"malformed record (a path longer than {PATH_MAX} bytes): {shown(text)}")
    return record


def split_stream(stream, null):
    """Yield the raw records of a binary stream, decoded with surrogateescape."""
    sep = b"\0" if null else b"\n"
    pending = b""
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(sep)
        for raw in complete:
            if not null and raw.endswith(b"\r"):
                raw = raw[:-1]
            if raw:
                yield os.fsdecode(raw)
    if not null and pending.endswith(b"\r"):
        pending = pending[:-1]
    if pending:
        yield os.fsdecode(pending)


def read(operands, null=False, stdin=None, require=True, on_error=None):
    """Yield Records from operands, or stdin when there are none and it is not a terminal.

    `-` as an operand reads stdin at that point. With no operands and stdin a
    terminal, raise a usage error when `require` is set (there is nothing to do).
    A malformed record goes to `on_error(DataError)` and the rest are read on; without
    `on_error` it is raised.
    """
    stdin = stdin if stdin is not None else sys.stdin.buffer
    if not operands:
        if _isatty(stdin):
            if require:
                raise UsageError("no input: give paths as operands or on stdin")
            return
        operands = ["-"]
    number = 0
    for operand in operands:
        texts = split_stream(stdin, null) if operand == "-" else [None]
        for text in texts:
            number += 1
            try:
                yield parse(text) if text is not None else _checked(Record(path=operand), operand)
            except DataError as exc:
                if on_error is None:
                    raise
                where = "operand" if text is None else "input record"
                on_error(DataError(f"{where} {number}: {exc.message}"))


def _isatty(stream):
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def path_text(path):
    """A path as a record line: a relative path starting with `{` becomes `./{...`."""
    path = os.fspath(path)
    if path.startswith("{"):
        return "./" + path
    return path


def plain_names(parts, null=False):
    """True when `A/B/NAME` says exactly `parts` as one record: no part is empty or holds
    `/`, and the text neither starts with `{` (a JSON record) nor holds a line end."""
    text = "/".join(parts)
    if not parts or any(not p or "/" in p for p in parts) or text.startswith("{"):
        return False
    return null or not ("\n" in text or "\r" in text)


class Writer:
    """Writes records to stdout in the chosen form and flushes each one.

    Flushing per record lets the next stage of a pipeline start on a backup as
    soon as it is finished.
    """

    def __init__(self, json_lines=False, null=False, stream=None, on_error=None):
        self.json_lines = json_lines
        self.null = null
        self.stream = stream if stream is not None else sys.stdout.buffer
        self.on_error = on_error

    def _emit(self, text):
        try:
            self.stream.write(os.fsencode(text) + (b"\0" if self.null else b"\n"))
            self.stream.flush()
        except BrokenPipeError:
            raise PipeClosed() from None

    def _plain(self, *fields):
        """The record as one line, or None (the failure reported) when a line cannot hold it."""
        text = "\t".join(path_text(f) if i == 0 else os.fspath(f) for i, f in enumerate(fields))
        if not self.null and ("\n" in text or text.endswith("\r")):
            # A reader splits at LF and takes a trailing CR for a CRLF line end.
            problem = RexError(f"{shown(text)}: cannot be written as a line: it holds a newline "
                               "(use -0 or --json); not passed on", PARTIAL)
            if self.on_error is None:
                raise problem
            self.on_error(problem)
            return None
        return text

    def path(self, path, **facts):
        """Write one path record (with facts when --json)."""
        if self.json_lines:
            self._emit(json.dumps({"path": os.fspath(path), **facts}, ensure_ascii=False, default=str))
        else:
            self._line(self._plain(path))

    def pair(self, source, target, **facts):
        """Write a SOURCE<TAB>TARGET record."""
        if self.json_lines:
            self._emit(json.dumps({"source": os.fspath(source), "path": os.fspath(target), **facts},
                                  ensure_ascii=False, default=str))
        else:
            self._line(self._plain(source, target))

    def _line(self, text):
        if text is not None:
            self._emit(text)

    def text(self, line):
        """Write one line of text as it is (a listing such as `rex-config show`)."""
        self._emit(line)

    def named(self, parts, **facts):
        """Write a name inside a hierarchy (a project's folders and name) as `A/B/NAME`,
        or as a JSON object when that text would lose something (see `plain_names`)."""
        parts = [os.fspath(p) for p in parts]
        data = {"path": "/".join(parts), **facts}
        if self.json_lines or not plain_names(parts, self.null):
            self._emit(json.dumps(data, ensure_ascii=False, default=str))
        else:
            self._emit(data["path"])

    def obj(self, data):
        """Write a JSON object (or, without --json, its `path`)."""
        if self.json_lines:
            self._emit(json.dumps(data, ensure_ascii=False, default=str))
        else:
            self._line(self._plain(data["path"]))
