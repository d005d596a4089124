"""Property tests for rex.backups.drp.canonical_digest on Resolve project files: the
simulator's exports everywhere, and the real Resolve exports where ../shared is.

What Resolve changes when it exports an unchanged project again (times, ids, member
order) never changes the digest; any other edit always does, so rex-dedupe keeps
every export that really differs.
"""

import os
import re
import tempfile
import uuid
import zipfile

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import run_cmd, user_env
from drpfiles import FIXTURES, read_members, real_fixtures, reexport, samples, source, sources, write_members
from rex.checksum import md5_file, write_sidecar
from rex.backups.drp import canonical_digest

SOURCES = samples() + FIXTURES     # what the generated edits start from

VOLATILE = ("DbSavedTime", "LastModTimeInSecs", "ModTimeInSecs", "ProjectAgeInMs", "LastChangedTime",
            "LastRenderedTime")
_VOLATILE_TEXT = re.compile(rb"<(" + "|".join(VOLATILE).encode() + rb")>([^<]*)</\1>")
_HEX = rb"[0-9a-fA-F]"
_PLAIN = re.compile(_HEX + rb"{8}-" + _HEX + rb"{4}-" + _HEX + rb"{4}-" + _HEX + rb"{4}-" + _HEX + rb"{12}")
_D = rb"(?:00(?:3[0-9]|6[1-6]|4[1-6]))"      # one hex digit, as UTF-16BE, written in hex
_WIDE = re.compile(_D + rb"{8}002d" + _D + rb"{4}002d" + _D + rb"{4}002d" + _D + rb"{4}002d" + _D + rb"{12}")
BINARY = "Stills/Still_1.1.1.dpx"
STAMPS = ("20261121T100000Z", "20261121T110000Z")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def utf16hex(text):
    return text.encode("utf-16-be").hex().encode()


def files(members):
    return [(i, d) for i, d in members if not i.is_dir()]


def is_xml(info):
    return info.filename.lower().endswith(".xml")


class Member:
    """One XML member and where an edit may land outside volatile text and UUIDs."""

    def __init__(self, data):
        self.data = data
        uuids = [m.span() for m in _PLAIN.finditer(data)] + [m.span() for m in _WIDE.finditer(data)]
        volatile = [m.span(2) for m in _VOLATILE_TEXT.finditer(data)]
        blocked = bytearray(len(data) + 1)          # for changing or deleting byte i
        blocked_insert = bytearray(len(data) + 1)   # for inserting before byte i
        for s, e in uuids:
            blocked[s:e] = b"\1" * (e - s)
            blocked_insert[s + 1:e] = b"\1" * (e - s - 1)
        for s, e in volatile:
            blocked[s:e] = b"\1" * (e - s)
            blocked_insert[s:e + 1] = b"\1" * (e - s + 1)
        self.free = [i for i in range(len(data)) if not blocked[i]]
        self.free_insert = [i for i in range(len(data) + 1) if not blocked_insert[i]]
        self.free_set, self.free_insert_set = set(self.free), set(self.free_insert)
        # Free positions right beside a UUID or volatile text, where a digest would slip first.
        edges = {i for s, e in uuids + volatile for b in (s, e) for i in range(b - 2, b + 3)}
        self.near = [i for i in self.free if i in edges]
        self.near_insert = [i for i in self.free_insert if i in edges]
        self.plain = [(m.start(), m.end(), m.group().decode().lower()) for m in _PLAIN.finditer(data)]
        self.wide = [(m.start(), m.end(), bytes.fromhex(m.group().decode()).decode("utf-16-be").lower())
                     for m in _WIDE.finditer(data)]


def _run(data, pos, byte, end):
    """The positions pos..end widened over the run of `byte` around them: the places where
    one insert or delete of `byte` gives the same bytes."""
    start = pos
    while start > 0 and data[start - 1] == byte:
        start -= 1
    while end < len(data) and data[end] == byte:
        end += 1
    return range(start, end + 1)


def _base(fixture, seed):
    """A project file built from a fixture's members (re-exported with `seed` when given),
    plus one non-XML member."""
    members = read_members(fixture)
    if seed is not None:
        with tempfile.TemporaryDirectory() as tmp:
            members = read_members(reexport(fixture, os.path.join(tmp, "b.drp"), seed))
    extra = zipfile.ZipInfo(BINARY)
    extra.compress_type = zipfile.ZIP_STORED
    return members + [(extra, bytes(range(256)) * 8 + b"\x00DPX\xff")]


BASES = {}


def base(fixture_index, seed):
    key = (fixture_index, seed)
    if key not in BASES:
        members = _base(SOURCES[fixture_index], seed)
        BASES[key] = (members, {i.filename: Member(d) for i, d in members if is_xml(i)})
    return BASES[key]


def project_uuids(members):
    ids = set()
    for info, data in files(members):
        ids.update(m.decode().lower() for m in _PLAIN.findall(info.filename.encode()))
        if is_xml(info):
            ids.update(m.decode().lower() for m in _PLAIN.findall(data))
    return sorted(ids)


# --- edits ------------------------------------------------------------------------------------------


@st.composite
def edits(draw):
    """(fixture index, base seed, description, function members -> edited members)."""
    index = draw(st.integers(0, len(SOURCES) - 1))
    seed = draw(st.sampled_from([None, 1, 2]))
    members, parsed = base(index, seed)
    kind = draw(st.sampled_from(["change", "insert", "delete", "swap", "remove", "add", "binary"]))
    names = [i.filename for i, _ in files(members)]

    def replace_data(name, new):
        return [(i, new if i.filename == name else d) for i, d in members]

    if kind in ("change", "insert", "delete"):
        name = draw(st.sampled_from(sorted(parsed)))
        m = parsed[name]
        data = m.data
        edge = draw(st.booleans())
        if kind == "insert":
            where = m.near_insert if edge and m.near_insert else m.free_insert
            pos = where[draw(st.integers(0, len(where) - 1))]
            byte = draw(st.one_of(st.integers(0, 255), st.sampled_from(b"0123456789abcdefABCDEF-<>/")))
            # Inserting b before a run of b is the same edit as inserting it anywhere in the run.
            assume(all(i in m.free_insert_set for i in _run(data, pos, byte, pos)))
            new = data[:pos] + bytes([byte]) + data[pos:]
        else:
            where = m.near if edge and m.near else m.free
            pos = where[draw(st.integers(0, len(where) - 1))]
            if kind == "delete":
                # Deleting one byte of a run is the same edit whichever byte of the run it is.
                assume(all(i in m.free_set for i in _run(data, pos, data[pos], pos + 1)))
                new = data[:pos] + data[pos + 1:]
            else:
                byte = draw(st.one_of(st.integers(0, 255), st.sampled_from(b"0123456789abcdefABCDEF-<>/"))
                            .filter(lambda b: b != data[pos]))
                new = data[:pos] + bytes([byte]) + data[pos + 1:]
        return index, seed, f"{kind} {name}@{pos}", replace_data(name, new)
    if kind == "swap":
        ids = project_uuids(members)
        occurrences = [(name, s, e, u, form) for name, m in sorted(parsed.items())
                       for form, found in (("plain", m.plain), ("wide", m.wide)) for s, e, u in found]
        name, s, e, old, form = draw(st.sampled_from(occurrences))
        new_id = draw(st.sampled_from([u for u in ids if u != old]))
        data = parsed[name].data
        raw = data[s:e]
        if form == "plain":
            rep = (new_id.upper() if raw.decode().isupper() else new_id).encode()
        else:
            rep = utf16hex(new_id)
        return index, seed, f"swap {name}@{s} {old}->{new_id} ({form})", replace_data(name, data[:s] + rep + data[e:])
    if kind == "remove":
        name = draw(st.sampled_from(names))
        return index, seed, f"remove {name}", [(i, d) for i, d in members if i.filename != name]
    if kind == "add":
        name = draw(st.one_of(
            st.sampled_from(["Extra.xml", "MediaPool/Master/Bin/MpFolder.xml", "Notes.txt", "Gallery2.xml"]),
            st.builds(lambda u: f"SeqContainer/{u}.xml", st.uuids().map(str))))
        assume(name not in names)
        data = draw(st.one_of(st.binary(max_size=64), st.sampled_from(
            [b"", b'<?xml version="1.0" encoding="UTF-8"?>\n<SM_Empty/>\n'])))
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        return index, seed, f"add {name}", members + [(info, data)]
    # a non-XML member: change, insert or delete one byte anywhere
    data = dict((i.filename, d) for i, d in members)[BINARY]
    pos = draw(st.integers(0, len(data) - 1))
    how = draw(st.sampled_from(["change", "insert", "delete"]))
    if how == "change":
        new = data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1:]
    elif how == "insert":
        new = data[:pos] + bytes([draw(st.integers(0, 255))]) + data[pos:]
    else:
        new = data[:pos] + data[pos + 1:]
    return index, seed, f"binary {how}@{pos}", replace_data(BINARY, new)


def write(path, members):
    write_members(path, members)
    return path


# --- (a) unchanged re-exports --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sources())
def test_reexports_of_an_unchanged_project_have_the_same_digest(fixture):
    fixture = source(fixture)       # before hypothesis runs: a missing fixture skips, or fails in CI
    expected = canonical_digest(fixture)

    @SETTINGS
    @given(seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3))
    def reexports(seeds):
        with tempfile.TemporaryDirectory() as tmp:
            src = fixture
            for n, seed in enumerate(seeds):       # a re-export of a re-export ... as well
                dst = reexport(src, os.path.join(tmp, f"{n}.drp"), seed)
                assert md5_file(dst) != md5_file(src)
                assert canonical_digest(dst) == expected
                src = dst

    reexports()


def test_the_generated_bases_are_reexport_invariant_too():
    for index in range(len(SOURCES)):
        digests = set()
        with tempfile.TemporaryDirectory() as tmp:
            for seed in (None, 1, 2):
                members, _ = base(index, seed)
                digests.add(canonical_digest(write(os.path.join(tmp, f"{seed}.drp"), members)))
        assert len(digests) == 1


def test_the_real_fixtures_differ():
    assert len({canonical_digest(f) for f in real_fixtures()}) == len(FIXTURES) >= 2


# --- (b) real edits --------------------------------------------------------------------------------------


@SETTINGS
@given(edit=edits())
def test_any_real_edit_changes_the_digest(edit):
    index, seed, what, edited = edit
    members, _ = base(index, seed)
    with tempfile.TemporaryDirectory() as tmp:
        before = canonical_digest(write(os.path.join(tmp, "before.drp"), members))
        after = canonical_digest(write(os.path.join(tmp, "after.drp"), edited))
        # The edited project exported again by Resolve is still the edited project.
        again = canonical_digest(reexport(os.path.join(tmp, "after.drp"), os.path.join(tmp, "again.drp"), 7))
    assert after != before, what
    assert again == after, what


def two_exports(tmp, older, newer):
    """Two consecutive exports of project P under tmp/backups, with their sidecars."""
    directory = os.path.join(tmp, "backups", "db", "P")
    os.makedirs(directory)
    first = write(os.path.join(directory, f"P_{STAMPS[0]}.drp"), older)
    second = write(os.path.join(directory, f"P_{STAMPS[1]}.drp"), newer)
    for path in (first, second):
        write_sidecar(path, md5_file(path))
    return first, second


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit=edits())
def test_rex_dedupe_keeps_an_edited_export(edit):
    index, seed, what, edited = edit
    members, _ = base(index, seed)
    with tempfile.TemporaryDirectory() as tmp:
        first, second = two_exports(tmp, members, edited)
        digest = md5_file(second)
        result = run_cmd("rex-dedupe", second, env=user_env(tmp))
        assert os.path.isfile(second) and not os.path.islink(second), what
        assert md5_file(second) == digest, what
        if result.returncode == 0:
            assert result.out == second + "\n", what
        else:   # an edit that broke project.xml itself: reported, never linked
            assert result.returncode == 65 and "project.xml" in result.err, (what, result.err)


def test_rex_dedupe_links_an_unchanged_generated_export():
    members, _ = base(0, None)
    again, _ = base(0, 2)
    with tempfile.TemporaryDirectory() as tmp:
        first, second = two_exports(tmp, members, again)
        result = run_cmd("rex-dedupe", second, env=user_env(tmp))
        assert result.returncode == 0, result.err
        assert os.path.islink(second) and os.readlink(second) == os.path.basename(first)


def test_a_fresh_unrelated_uuid_in_place_of_one_is_not_a_change():
    """The counterpart of the swap edit: replacing an id everywhere by a new one is what
    Resolve does on export, and must not change the digest."""
    members, parsed = base(0, None)
    old = next(iter(project_uuids(members)))
    new = str(uuid.UUID(int=12345, version=4))
    edited = [(i, d.replace(old.encode(), new.encode()).replace(utf16hex(old), utf16hex(new))) for i, d in members]
    with tempfile.TemporaryDirectory() as tmp:
        assert canonical_digest(write(os.path.join(tmp, "a.drp"), members)) == \
            canonical_digest(write(os.path.join(tmp, "b.drp"), edited))
