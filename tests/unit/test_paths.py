"""rex.paths: safe names (injective, filesystem-safe), join_safe, stamps, XDG dirs."""

import calendar
import os
import re
import time
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from rex import paths
from rex.errors import DataError
from rex.paths import (join_safe, parse_stamp, path_matches, path_selected, safe_name, split_backup_name, stamp,
                       unsafe_name)

# Every kind of text, lone surrogates included (names may come from undecodable bytes).
any_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF))
hostile_chars = st.sampled_from(list("./\\\0\n\r\t %:*?\"<>|-~ ") + ["\x7f", "\u2028", "\ud800", "\udcff", "é"])
hostile_text = st.text(hostile_chars, max_size=12)
names = st.one_of(any_text, hostile_text)

WINDOWS_RESERVED = ["CON", "PRN", "AUX", "NUL", "COM1", "COM9", "LPT1", "LPT9", "con", "Nul", "nul.txt",
                    "COM1.tar.gz", "aux .log", "CON "]


def _utf8_len(text):
    return len(text.encode("utf-8", "surrogatepass"))


def assert_component_safe(out):
    assert isinstance(out, str)
    assert out not in ("", ".", "..")
    for bad in ("/", "\\", "\0"):
        assert bad not in out
    assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in out), ascii(out)
    assert not out.startswith((".", "-"))
    assert not out.endswith((".", " "))
    assert _utf8_len(out) <= 255
    # Characters that FAT/NTFS/SMB refuse never appear raw.
    assert not set(out) & set(':*?"<>|')


@given(names)
@example("")
@example(".")
@example("..")
@example("../../etc/passwd")
@example("/")
@example("%")
@example("%25")
@example("-rf")
@example("name.")
@example("name ")
@example("\ud83d\ude00")       # a surrogate *pair* as two code points
@example("a" * 1000)
@example("é" * 300)
@example("%" * 300)
def test_safe_name_is_one_safe_component(name):
    assert_component_safe(safe_name(name))


@given(names)
@example("")
@example("%")
@example("%41")
@example("\ud83d\ude00")
@example("CON")
@example("nul.txt")
def test_unsafe_name_inverts_safe_name_when_not_shortened(name):
    out = safe_name(name)
    assume("%~" not in out)
    assert unsafe_name(out) == name


@given(names, names)
@example("", "%")
@example("A", "%41")
@example("CON", "%43ON")
@example("a/b", "a%2Fb")
@example(".x", "%2Ex")
@example("x" * 400, "x" * 401)
@example("x" * 400 + "a", "x" * 400 + "b")
def test_safe_name_is_injective(a, b):
    assume(a != b)
    assert safe_name(a) != safe_name(b)


@pytest.mark.parametrize("base", ["a", "é", "%", "/", "\x01", "😀", "ab%"])
def test_long_names_are_shortened_distinctly_and_readably(base):
    long_names = [base * n for n in (150, 151, 400, 401)] + [base * 300 + "x", base * 300 + "y"]
    outs = [safe_name(n) for n in long_names]
    assert len(set(outs)) == len(outs)
    for name, out in zip(long_names, outs):
        assert_component_safe(out)
        if _utf8_len(name) > 255:
            assert "%~" in out
            # The readable head is kept: the part before the digest starts the escaped name.
            head = out.split("%~")[0]
            assert head and unsafe_name(head) == name[: len(unsafe_name(head))]


def test_shortened_name_never_cuts_an_escape_in_half():
    for pad in range(0, 6):
        out = safe_name("a" * pad + "/" * 200)
        head = out.split("%~")[0]
        assert re.fullmatch(r"a*(%2F)*", head), out


@pytest.mark.parametrize("name", WINDOWS_RESERVED)
def test_windows_reserved_names_are_escaped(name):
    out = safe_name(name)
    stem = out.split(".")[0].rstrip(" ").upper()
    assert stem not in {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(10)} | {f"LPT{i}" for i in range(10)}
    assert out != name
    assert unsafe_name(out) == name


@pytest.mark.parametrize("name", ["CONSOLE", "nullable", "COM10", "LPT", "auxiliary.txt", "icon"])
def test_names_that_only_look_reserved_stay_readable(name):
    assert safe_name(name) == name


@pytest.mark.parametrize("name", ["COM¹", "lpt³.txt"])
def test_superscript_device_names_are_reserved_too(name):
    # Windows also reserves COM¹..COM³ and LPT¹..LPT³.
    assert safe_name(name) != name
    assert unsafe_name(safe_name(name)) == name


@pytest.mark.parametrize("name,expected", [
    ("Resolve Projects", "Resolve Projects"),
    ("Commercials 2026", "Commercials 2026"),
    ("Spot v2.1", "Spot v2.1"),
    ("a/b", "a%2Fb"),
    ("50%", "50%25"),
    ("..", "%2E%2E"),
    (".hidden", "%2Ehidden"),
    ("-rf", "%2Drf"),
    ("end.", "end%2E"),
    ("end ", "end%20"),
    ("tab\there", "tab%09here"),
    ("CON", "%43ON"),
    ("", "%"),
])
def test_safe_name_examples(name, expected):
    assert safe_name(name) == expected


@given(st.lists(names, min_size=1, max_size=4))
@example(["..", ".."])
@example(["../..", "etc"])
@example(["/etc/passwd"])
@example(["a/../../b"])
@example(["", "."])
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_join_safe_never_leaves_root(tmp_path, parts):
    root = str(tmp_path / "root")
    path = join_safe(root, *parts)
    real_root = os.path.realpath(root)
    assert os.path.commonpath([real_root, os.path.realpath(path)]) == real_root
    assert os.path.dirname(path) != "" and path.startswith(root + os.sep)
    # One component per name, nothing more and nothing less.
    assert len(os.path.relpath(path, root).split(os.sep)) == len(parts)


def test_join_safe_refuses_a_symlink_that_leads_out(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "evil").symlink_to(tmp_path)
    with pytest.raises(DataError) as info:
        join_safe(str(root), "evil", "x")
    assert info.value.code == 65


# --- stamps ---------------------------------------------------------------------------------

def test_stamp_format_and_value():
    when = calendar.timegm((2026, 3, 7, 9, 5, 2, 0, 0, 0))
    assert stamp(when) == "20260307T090502Z"
    assert re.fullmatch(r"\d{8}T\d{6}Z", stamp())


def test_stamp_is_now_in_utc():
    before = int(time.time())
    text = stamp()
    after = int(time.time())
    assert before <= parse_stamp(text) <= after


@given(st.integers(min_value=0, max_value=253402300799))  # up to 9999-12-31T23:59:59Z
def test_parse_stamp_round_trip(seconds):
    text = stamp(seconds)
    assert len(text) == paths.STAMP_LEN and ":" not in text
    assert parse_stamp(text) == seconds


@given(st.integers(0, 253402300799), st.integers(0, 253402300799))
def test_stamps_sort_like_time(a, b):
    assert (stamp(a) < stamp(b)) == (a < b)


@pytest.mark.parametrize("text", [
    "", "garbage", "2026-03-07T09:05:02Z", "20260307T090502", "20260307090502Z",
    "20261307T090502Z", "20260332T090502Z", "20260307T250502Z", "20260307T096002Z",
    " 20260307T090502Z", "20260307T090502Z ", "2026037T90502Z", "20260307T090502z",
    "20260307T090560Z",   # no leap seconds: it would collide with the next minute
    None, 20260307,
])
def test_parse_stamp_rejects_what_is_not_a_stamp(text):
    assert parse_stamp(text) is None


@pytest.mark.parametrize("filename,expected", [
    ("Resolve Projects_20260307T090502Z.backup", ("Resolve Projects", "20260307T090502Z", ".backup")),
    ("my_project_library_20260307T090502Z.backup", ("my_project_library", "20260307T090502Z", ".backup")),
    ("Spot v2.1_20260101T000000Z.drp", ("Spot v2.1", "20260101T000000Z", ".drp")),
    ("a_b__20260101T000000Z.sql", ("a_b_", "20260101T000000Z", ".sql")),
    ("_20260101T000000Z.backup", ("", "20260101T000000Z", ".backup")),
])
def test_split_backup_name(filename, expected):
    assert split_backup_name(filename) == expected


@pytest.mark.parametrize("filename", [
    "", "noextension", "name.backup", "name_notastamp.backup", "name_20260101T000000Z",
    "name20260101T000000Z.backup", "name_20261301T000000Z.backup", "name_2026011T00000Z1.backup",
    "name_20260101T000000Z.backup.md5", ".name_20260101T000000Z.backup.rex-tmp-12-ab",
])
def test_split_backup_name_rejects_garbage(filename):
    assert split_backup_name(filename) is None


@given(st.text(st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), max_size=30),
       st.integers(0, 253402300799), st.sampled_from([".backup", ".drp", ".sql"]))
def test_split_backup_name_inverts_joining(name, seconds, ext):
    filename = f"{name}_{stamp(seconds)}{ext}"
    assert split_backup_name(filename) == (name, stamp(seconds), ext)


# --- XDG locations ---------------------------------------------------------------------------

def test_xdg_variables_are_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "s"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert paths.user_config_file() == str(tmp_path / "c" / "rex" / "rex.yaml")
    assert paths.default_backup_root() == str(tmp_path / "d" / "rex" / "backups")
    locks = paths.state_dir("locks")
    assert locks == str(tmp_path / "s" / "rex" / "locks")
    assert os.path.isdir(locks)


def test_relative_xdg_variables_are_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert paths.config_home() != "relative/dir"
    assert os.path.isabs(paths.config_home())
    assert paths.config_home().startswith(str(tmp_path))


@given(st.text(alphabet=st.characters(blacklist_characters="/\0*?[]"), min_size=1, max_size=20))
def test_globs_without_slash_match_the_file_name(name):
    path = "/Volumes/Media/" + name
    assert path_matches(path, "*") and path_matches(path, name)
    assert not path_matches("/other/" + name + "x", name)
    assert path_matches(path, "/Volumes/*") and path_selected(path, include=["/Volumes/*"])
    assert not path_selected(path, exclude=[name]) and path_selected(path)


def test_star_crosses_slashes_in_path_patterns():
    assert path_matches("/a/b/c/D.mov", "/a/*.mov") and not path_matches("/a/b/D.mov", "/x/*")
