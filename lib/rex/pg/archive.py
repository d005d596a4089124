"""Reading custom-format dumps: the table of contents and per-table row counts."""

import re
from dataclasses import dataclass, field

from ..errors import DataError
from ..runner import operand, run

# "215; 1259 16385 TABLE public SM_Project postgres" -> desc is the words before schema.
_TOC_LINE = re.compile(r"^\s*\d+;\s+\d+\s+\d+\s+(.*)$")
# Longer descriptions first: "TABLE ATTACH" is not a TABLE, "SEQUENCE OWNED BY" not a SEQUENCE.
_DESCS = ("TABLE DATA", "TABLE ATTACH", "LARGE OBJECT", "SEQUENCE SET", "SEQUENCE OWNED BY", "BLOBS", "BLOB",
          "TABLE", "SEQUENCE", "INDEX ATTACH", "INDEX", "FK CONSTRAINT", "CHECK CONSTRAINT", "CONSTRAINT",
          "SCHEMA", "EXTENSION", "COMMENT", "ACL", "DEFAULT ACL", "DEFAULT", "MATERIALIZED VIEW DATA",
          "MATERIALIZED VIEW", "VIEW", "FUNCTION")


@dataclass
class TableOfContents:
    entries: list = field(default_factory=list)   # (desc, rest)

    def count(self, desc):
        return sum(1 for d, _ in self.entries if d == desc)

    @property
    def tables(self):
        return self.count("TABLE")

    @property
    def large_objects(self):
        return self.count("BLOB") + self.count("LARGE OBJECT")


def parse_toc(text):
    """Parse `pg_restore --list` output."""
    toc = TableOfContents()
    for line in text.splitlines():
        if line.startswith(";") or not line.strip():
            continue
        m = _TOC_LINE.match(line)
        if not m:
            continue
        rest = m.group(1)
        desc = next((d for d in _DESCS if rest == d or rest.startswith(d + " ")), rest.split(" ", 1)[0])
        toc.entries.append((desc, rest[len(desc):].strip()))
    return toc


def toc_argv(pg_restore, path):
    return [pg_restore, "--list", operand(path)]


def data_argv(pg_restore, path):
    """The dump's data as SQL on stdout."""
    return [pg_restore, "--data-only", "-f", "-", operand(path)]


def read_toc(pg_restore, path, timeout=600):
    """The archive's table of contents; DataError (65) when pg_restore cannot read it."""
    result = run(toc_argv(pg_restore, path), timeout=timeout)
    if not result.ok:
        raise DataError(f"{path}: not a readable custom-format dump: {result.tail()}")
    return parse_toc(result.stdout.decode("utf-8", "replace"))


def _unquote_ident(text):
    text = text.strip()
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text


_COPY = re.compile(r'^COPY\s+((?:"(?:[^"]|"")*"|[^\s."]+)\.(?:"(?:[^"]|"")*"|[^\s("]+))\s*(?:\(.*\))?\s+FROM stdin;$')


def split_qualified(name):
    """('schema', 'table') from `schema."Table"`."""
    m = re.match(r'^("(?:[^"]|"")*"|[^."]+)\.(.*)$', name)
    return _unquote_ident(m.group(1)), _unquote_ident(m.group(2))


def stream_sql(argv, path, consume, what, timeout=3600):
    """Run pg_restore writing SQL to stdout (`argv`) and return `consume(lines)` of it;
    DataError (65) naming `what` could not be read when pg_restore fails."""
    import subprocess

    from ..runner import popen, stderr_tail

    proc = popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        result = consume(proc.stdout)
        err = proc.stderr.read().decode("utf-8", "replace")
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if code != 0:
        raise DataError(f"{path}: pg_restore cannot read {what}: {stderr_tail(err) or f'exit {code}'}")
    return result


def row_counts(pg_restore, path, timeout=3600):
    """{(schema, table): rows} counted from the COPY blocks of the dump's data."""
    return stream_sql(data_argv(pg_restore, path), path, _count_rows, "the data", timeout)


def _count_rows(lines):
    counts = {}
    current = None
    for raw in lines:
        if current is None:
            if raw.startswith(b"COPY "):
                m = _COPY.match(raw.decode("utf-8", "replace").rstrip("\n"))
                if m:
                    current = split_qualified(m.group(1))
                    counts[current] = 0
        elif raw == b"\\.\n":
            current = None
        else:
            counts[current] += 1
    return counts
