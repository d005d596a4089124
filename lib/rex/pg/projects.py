"""The projects inside a library dump, read without restoring it.

`pg_restore --data-only -t SM_Project -t SM_ProjectFolder -f -` prints just the
two COPY blocks (a file written by pg_dump itself carries data offsets, so
pg_restore seeks to them instead of reading the whole archive). Their rows are
in COPY's text format, parsed here; folder paths come from the ParentFolder
chain. Names are untrusted: any text survives, including tabs, newlines and `/`.
"""

import fnmatch
import os
import re
import time
from dataclasses import dataclass

from ..errors import DataError, about
from ..runner import operand
from .archive import stream_sql

PROJECT_TABLE = "SM_Project"
FOLDER_TABLE = "SM_ProjectFolder"

_COPY_HEAD = re.compile(r'^COPY\s+(?:"(?:[^"]|"")*"|[^\s."]+)\.("(?:[^"]|"")*"|[^\s("]+)\s*\((.*)\)\s+FROM stdin;$')
_IDENT = re.compile(r'"((?:[^"]|"")*)"|([^\s,"]+)')
_SIMPLE = {"b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v"}


@dataclass(frozen=True)
class Project:
    folder: tuple          # folder names below the library's root
    name: str
    modified: int = None   # LastModTimeInSecs: seconds since the epoch

    @property
    def path(self):
        return "/".join((*self.folder, self.name))


def unescape_field(raw):
    """One field of a COPY text row (bytes) -> str, or None for \\N."""
    if raw == b"\\N":
        return None
    if b"\\" not in raw:
        return raw.decode("utf-8", "surrogateescape")
    return _ESCAPE.sub(_unescape_one, raw).decode("utf-8", "surrogateescape")


# Backslash sequences COPY reads: up to three octal digits, x and one or two hex
# digits, a letter (b f n r t v), or any other byte standing for itself.
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)", re.DOTALL)


def _unescape_one(m):
    e = m.group(1)
    if 0x30 <= e[0] <= 0x37:
        return bytes([int(e, 8) & 0xFF])
    if len(e) > 1:      # x and hex digits
        return bytes([int(e[1:], 16)])
    return _SIMPLE.get(e.decode("latin-1"), e)


def escape_field(text):
    """A str as PostgreSQL writes it in a COPY text row (None as \\N); the inverse of unescape_field."""
    if text is None:
        return b"\\N"
    data = text.encode("utf-8", "surrogateescape")
    for plain, coded in ((b"\\", b"\\\\"), (b"\b", b"\\b"), (b"\f", b"\\f"), (b"\n", b"\\n"),
                         (b"\r", b"\\r"), (b"\t", b"\\t"), (b"\v", b"\\v")):
        data = data.replace(plain, coded)
    return data


def _columns(text):
    return [quoted.replace('""', '"') if quoted is not None else bare.lower()
            for quoted, bare in _IDENT.findall(text)]


def parse_copy(lines, wanted):
    """{table: [row dicts]} for the COPY blocks of `wanted` tables in pg_restore's SQL (bytes lines)."""
    tables, current, columns = {}, None, None
    for raw in lines:
        if current is None:
            if raw.startswith(b"COPY "):
                m = _COPY_HEAD.match(raw.decode("utf-8", "surrogateescape").rstrip("\r\n"))
                if m:
                    table = m.group(1)
                    table = table[1:-1].replace('""', '"') if table.startswith('"') else table.lower()
                    if table in wanted:
                        current, columns = tables.setdefault(table, []), _columns(m.group(2))
                    else:
                        current, columns = [], None     # read through a block we do not want
            continue
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line == b"\\.":
            current = None
            continue
        if columns is not None:
            current.append(dict(zip(columns, (unescape_field(f) for f in line.split(b"\t")))))
    return tables


def folder_paths(folders):
    """{folder id: tuple of names below the root} from {id: (parent id or None, name)}.

    A folder without a parent is a root and adds no name (Resolve's project
    manager shows its content at the top); a parent that is missing or a cycle
    ends the chain there, so a damaged table still gives an answer.
    """
    paths = {}
    for start in folders:
        chain, seen, fid = [], set(), start
        while fid in folders and fid not in paths and fid not in seen:
            seen.add(fid)
            chain.append(fid)
            fid = folders[fid][0]
        base = paths.get(fid, ())
        for node in reversed(chain):
            parent, name = folders[node]
            if parent is not None:
                base = base + (name,)
            paths[node] = base
    return paths


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def projects_of(tables):
    """[Project] from parsed SM_Project and SM_ProjectFolder rows, sorted by folder and name."""
    if PROJECT_TABLE not in tables:
        raise DataError(f"no {PROJECT_TABLE} table: not a Resolve project library")
    folders = {row.get(f"{FOLDER_TABLE}_id"): (row.get("ParentFolder"), row.get("Name") or "")
               for row in tables.get(FOLDER_TABLE, [])}
    paths = folder_paths(folders)
    found = [Project(paths.get(row.get("Folder"), ()), row.get("ProjectName") or "",
                     _int(row.get("LastModTimeInSecs")))
             for row in tables[PROJECT_TABLE]]
    return sorted(found, key=lambda p: (p.folder, p.name))


def list_argv(pg_restore, path):
    return [pg_restore, "--data-only", "--table", PROJECT_TABLE, "--table", FOLDER_TABLE, "--file", "-", operand(path)]


def list_projects(pg_restore, path, timeout=3600):
    """The projects in the dump at `path`; DataError (65) when pg_restore cannot read it."""
    tables = stream_sql(list_argv(pg_restore, path), path,
                        lambda lines: parse_copy(lines, {PROJECT_TABLE, FOLDER_TABLE}), "the projects", timeout)
    try:
        return projects_of(tables)
    except DataError as exc:
        raise DataError(about(path, exc.message)) from None


def matches(project, pattern):
    """True when the project's name, or its FOLDER/NAME path, matches `pattern`
    (a shell pattern; without wildcards, an exact name)."""
    return fnmatch.fnmatchcase(project.name, pattern) or fnmatch.fnmatchcase(project.path, pattern)


def iso_time(seconds):
    return None if seconds is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def project_facts(project, dump):
    """The JSON facts of a project found in a dump."""
    return {"folder": list(project.folder), "name": project.name, "modified": iso_time(project.modified),
            "modified_epoch": project.modified, "dump": os.path.abspath(dump)}
