"""Reading projects from pg_restore's COPY text, and the pure decisions around rex-restore."""

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from rex.pg.origin import layout_server
from rex.pg.projects import (Project, escape_field, folder_paths, matches, parse_copy, projects_of,
                             unescape_field)
from rex.records import parse, plain_names

# Any text PostgreSQL can store: every code point but NUL (lone surrogates cannot be UTF-8).
names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=40)


@given(st.one_of(st.none(), names))
def test_copy_field_round_trip(text):
    assert unescape_field(escape_field(text)) == text


@given(st.one_of(st.none(), names))
def test_escaped_field_is_one_field_of_one_line(text):
    raw = escape_field(text)
    assert b"\t" not in raw and b"\n" not in raw and b"\r" not in raw


def test_unescape_reads_what_copy_accepts():
    assert unescape_field(b"\\101\\x42\\x4\\q\\\\") == "AB\x04q\\"
    assert unescape_field(b"\\N") is None and unescape_field(b"\\\\N") == "\\N"


def copy_text(table, columns, rows):
    head = f'COPY public."{table}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) FROM stdin;\n'
    body = b"".join(b"\t".join(escape_field(v) for v in row) + b"\n" for row in rows)
    return [head.encode()] + body.splitlines(keepends=True) + [b"\\.\n", b"\n"]


@settings(max_examples=200)
@given(st.lists(st.tuples(names, names), min_size=0, max_size=8))
def test_parse_copy_round_trip_with_hostile_text(rows):
    lines = [b"SET client_encoding = 'UTF8';\n"]
    lines += copy_text("Other", ["x"], [("skip\tme",)])
    lines += copy_text("SM_Project", ["ProjectName", "Folder"], rows)
    tables = parse_copy(lines, {"SM_Project"})
    assert list(tables) == ["SM_Project"]
    assert [(r["ProjectName"], r["Folder"]) for r in tables["SM_Project"]] == rows


def test_projects_with_folders_and_times():
    tables = {
        "SM_ProjectFolder": [{"SM_ProjectFolder_id": "r", "ParentFolder": None, "Name": "Root"},
                             {"SM_ProjectFolder_id": "a", "ParentFolder": "r", "Name": "A/1"},
                             {"SM_ProjectFolder_id": "b", "ParentFolder": "a", "Name": "B\n"}],
        "SM_Project": [{"ProjectName": "deep", "Folder": "b", "LastModTimeInSecs": "7"},
                       {"ProjectName": "top", "Folder": "r", "LastModTimeInSecs": None},
                       {"ProjectName": "lost", "Folder": "gone", "LastModTimeInSecs": "x"}],
    }
    assert projects_of(tables) == [Project((), "lost", None), Project((), "top", None),
                                   Project(("A/1", "B\n"), "deep", 7)]


@st.composite
def forests(draw):
    """Folder tables without cycles: a parent is an earlier id, None (a root) or missing (99)."""
    folders = {}
    for fid in range(draw(st.integers(0, 10))):
        parent = draw(st.one_of(st.none(), st.just(99), st.integers(0, fid - 1) if fid else st.none()))
        folders[fid] = (parent, draw(names))
    return folders


@given(forests())
def test_folder_paths_follow_the_parents(folders):
    paths = folder_paths(folders)
    assert set(paths) == set(folders)
    for fid, (parent, name) in folders.items():
        expected = () if parent is None else paths.get(parent, ()) + (name,)
        assert paths[fid] == expected


@given(st.dictionaries(st.integers(0, 8), st.tuples(st.one_of(st.none(), st.integers(0, 8)), names)))
def test_folder_paths_end_even_with_cycles(folders):
    paths = folder_paths(folders)
    assert set(paths) == set(folders)
    assert all(len(path) <= len(folders) for path in paths.values())


def test_folder_paths_of_a_tree():
    folders = {1: (None, "Root"), 2: (1, "A"), 3: (2, "B"), 4: (99, "orphan")}
    assert folder_paths(folders) == {1: (), 2: ("A",), 3: ("A", "B"), 4: ("orphan",)}


@given(st.lists(names, min_size=1, max_size=4))
def test_plain_names_only_when_the_line_says_exactly_the_parts(parts):
    text = "/".join(parts)
    if plain_names(parts):
        assert text.split("/") == parts and "\n" not in text
        assert parse(text).path == text
    else:
        assert any(not p or "/" in p for p in parts) or text.startswith("{") or "\n" in text or "\r" in text


def test_layout_names_the_server(tmp_path):
    root = str(tmp_path)
    assert layout_server(root, f"{root}/db.example_5433/Films/Films_20260101T000000Z.backup") == ("db.example", 5433)
    assert layout_server(root, f"{root}/local_5432/Films/Films_20260101T000000Z.backup") == (None, 5432)
    assert layout_server(root, f"{root}/fe80%3A%3A1_5432/F/F_20260101T000000Z.backup") == ("fe80::1", 5432)
    assert layout_server(root, f"{root}/studio/Films/Films_20260101T000000Z.backup") is None
    assert layout_server(root, f"{root}/h_5432/Films/Other_20260101T000000Z.backup") is None
    assert layout_server(root, f"{root}/h_99999/Films/Films_20260101T000000Z.backup") is None
    assert layout_server(root, "/elsewhere/h_5432/Films/Films_20260101T000000Z.backup") is None


def test_matches_name_or_path():
    p = Project(("Commercials",), "Spot [30s]")
    assert matches(p, "Spot [[]30s]") and matches(p, "Spot*") and matches(p, "Commercials/*")
    assert not matches(p, "Spot") and not matches(p, "spot*")
    assert os.sep == "/"
