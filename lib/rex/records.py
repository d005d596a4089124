"""The record contract shared by every command.

A record is one line (LF) or, with -0, one NUL-terminated string. A line that
starts with `{` is a JSON object; anything else is a path. Output is plain paths,
`SOURCE<TAB>TARGET` pairs, JSON Lines (--json) or NUL-terminated (-0).
"""

import json
import os
import sys

from .errors import DataError, UsageError


class Record(dict):
    """One input record: a dict with at least `path` (a JSON record keeps all its keys)."""

    @property
    def path(self):
        return self.get("path")


def parse(text):
    """Turn one record's text into a Record (JSON object or path)."""
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise DataError(f"malformed JSON record: {exc.msg} at column {exc.colno}") from None
        if not isinstance(value, dict):
            raise DataError("malformed JSON record: not an object")
        if "path" not in value:
            for alias in ("source", "file"):
                if isinstance(value.get(alias), str):
                    value["path"] = value[alias]
                    break
        return Record(value)
    return Record(path=text)


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


def read(operands, null=False, stdin=None, require=True):
    """Yield Records from operands, or stdin when there are none and it is not a terminal.

    `-` as an operand reads stdin at that point. With no operands and stdin a
    terminal, raise a usage error when `require` is set (there is nothing to do).
    """
    stdin = stdin if stdin is not None else sys.stdin.buffer
    if not operands:
        if _isatty(stdin):
            if require:
                raise UsageError("no input: give paths as operands or on stdin")
            return
        operands = ["-"]
    for operand in operands:
        if operand == "-":
            for text in split_stream(stdin, null):
                yield parse(text)
        else:
            yield Record(path=operand)


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

    def __init__(self, json_lines=False, null=False, stream=None):
        self.json_lines = json_lines
        self.null = null
        self.stream = stream if stream is not None else sys.stdout.buffer

    def _emit(self, text):
        self.stream.write(os.fsencode(text) + (b"\0" if self.null else b"\n"))
        self.stream.flush()

    def _plain(self, *fields):
        text = "\t".join(path_text(f) if i == 0 else os.fspath(f) for i, f in enumerate(fields))
        if not self.null and ("\n" in text or text.endswith("\r")):
            # A reader splits at LF and takes a trailing CR for a CRLF line end.
            raise DataError(f"cannot write {text!r} as a line: it holds a newline (use -0 or --json)")
        return text

    def path(self, path, **facts):
        """Write one path record (with facts when --json)."""
        if self.json_lines:
            self._emit(json.dumps({"path": os.fspath(path), **facts}, ensure_ascii=False, default=str))
        else:
            self._emit(self._plain(path))

    def pair(self, source, target, **facts):
        """Write a SOURCE<TAB>TARGET record."""
        if self.json_lines:
            self._emit(json.dumps({"source": os.fspath(source), "path": os.fspath(target), **facts},
                                  ensure_ascii=False, default=str))
        else:
            self._emit(self._plain(source, target))

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
            self._emit(self._plain(data["path"]))
