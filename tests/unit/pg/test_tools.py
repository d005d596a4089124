"""rex.pg.tools: which pg_dump to use for a server, and reading version strings."""

import os
import stat

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rex.errors import Unavailable
from rex.pg import tools
from rex.pg.tools import choose, major_from_version_text, major_key

# Majors as pg_dump reports them: 9.x before 10, a single number since.
majors = st.one_of(st.integers(10, 30).map(str),
                   st.tuples(st.integers(8, 9), st.integers(0, 6)).map(lambda t: f"{t[0]}.{t[1]}"))
programs = st.text("abcdefgh0123456789/", min_size=1, max_size=12).map(lambda s: "/opt/" + s + "/pg_dump")
available_maps = st.dictionaries(programs, st.one_of(majors, st.none()), max_size=6)


@pytest.mark.parametrize("text,major", [
    ("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", "15"),
    ("pg_dump (PostgreSQL) 9.6.24", "9.6"),
    ("pg_dump (PostgreSQL) 17devel", "17"),
    ("pg_dump (PostgreSQL) 16beta2", "16"),
    ("pg_dump (PostgreSQL) 13.4 (Ubuntu 13.4-1.pgdg20.04+1)\n", "13"),
    ("pg_dump (PostgreSQL) 10.23", "10"),
    ("pg_restore (PostgreSQL) 12.1", "12"),
    ("pg_dump (PostgreSQL) 9.0.1", "9.0"),
])
def test_major_from_version_text(text, major):
    assert major_from_version_text(text) == major


@pytest.mark.parametrize("text", ["", None, "pg_dump 15.1", "psql: command not found", "PostgreSQL 15"])
def test_major_from_version_text_without_a_version(text):
    assert major_from_version_text(text) is None


@pytest.mark.parametrize("small,big", [("9.6", "10"), ("9.5", "9.6"), ("10", "11"), ("9", "9.1"), ("15", "100")])
def test_major_key_orders_versions(small, big):
    assert major_key(small) < major_key(big)


@given(available_maps, majors)
def test_choose_same_major_wins(available, server):
    assume(any(m is not None and major_key(m) == major_key(server) for m in available.values()))
    path, warning = choose(available, server)
    assert warning is None
    assert major_key(available[path]) == major_key(server)


@given(available_maps, majors)
def test_choose_otherwise_the_oldest_newer_with_a_warning(available, server):
    known = [m for m in available.values() if m is not None]
    assume(all(major_key(m) != major_key(server) for m in known))
    newer = [m for m in known if major_key(m) > major_key(server)]
    assume(newer)
    path, warning = choose(available, server)
    assert major_key(available[path]) == min(major_key(m) for m in newer)
    assert warning and path in warning and server in warning


@settings(suppress_health_check=[HealthCheck.filter_too_much])   # most maps hold a newer major
@given(available_maps, majors)
def test_choose_only_older_is_unavailable(available, server):
    known = [m for m in available.values() if m is not None]
    assume(known and all(major_key(m) < major_key(server) for m in known))
    with pytest.raises(Unavailable) as info:
        choose(available, server)
    assert info.value.code == 69
    assert "older" in info.value.message
    newest = max(known, key=major_key)
    assert newest in info.value.message


@given(st.dictionaries(programs, st.none(), max_size=3), majors)
def test_choose_nothing_usable_is_unavailable(available, server):
    with pytest.raises(Unavailable) as info:
        choose(available, server)
    assert info.value.code == 69
    assert "not found" in info.value.message


def test_choose_examples():
    available = {"/usr/lib/postgresql/13/bin/pg_dump": "13", "/usr/lib/postgresql/16/bin/pg_dump": "16",
                 "/usr/lib/postgresql/15/bin/pg_dump": "15", "/usr/bin/pg_dump": None}
    assert choose(available, "15") == ("/usr/lib/postgresql/15/bin/pg_dump", None)
    path, warning = choose(available, "14")
    assert path == "/usr/lib/postgresql/15/bin/pg_dump"
    assert "version 15" in warning and "newer" in warning
    path, warning = choose({"/a/pg_dump": "10", "/b/pg_dump": "9.6"}, "9.5")
    assert path == "/b/pg_dump" and "version 9.6" in warning
    with pytest.raises(Unavailable, match="13 is older"):
        choose({"/a/pg_dump": "13", "/b/pg_dump": "12"}, "15")


# --- finding programs (with fake pg_dump scripts) --------------------------------------------

def _fake(directory, name, version_line):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_select_pg_dump_configured(tmp_path):
    prog = _fake(tmp_path / "13", "pg_dump", "pg_dump (PostgreSQL) 13.9")
    assert tools.select_pg_dump("13", configured=prog) == (prog, None)
    with pytest.raises(Unavailable, match="older"):
        tools.select_pg_dump("15", configured=prog)
    with pytest.raises(Unavailable, match="not found or not executable"):
        tools.select_pg_dump("13", configured=str(tmp_path / "missing"))


def test_candidates_from_rex_pg_bindirs(tmp_path, monkeypatch):
    a = _fake(tmp_path / "a", "pg_dump", "pg_dump (PostgreSQL) 14.1")
    b = _fake(tmp_path / "b", "pg_dump", "pg_dump (PostgreSQL) 16.2")
    os.symlink(b, tmp_path / "b-link")
    monkeypatch.setenv("REX_PG_BINDIRS", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    found = tools.candidates()
    assert found[:2] == [a, b]
    assert tools.version_of(a) == "14"


def test_sibling(tmp_path):
    dump = _fake(tmp_path / "bin", "pg_dump", "x")
    restore = _fake(tmp_path / "bin", "pg_restore", "x")
    assert tools.sibling(dump, "pg_restore") == restore
