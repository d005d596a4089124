"""rex.records: the record contract (JSON or path lines, NUL mode, operands vs stdin, Writer)."""

import io
import json
import os

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rex.errors import DataError, RexError, UsageError
from rex.records import PipeClosed, Record, Writer, parse, path_text, read, shown, split_stream


class Stdin(io.BytesIO):
    """stdin that is not a terminal (fileno fails like a pipe-less stream)."""

    def fileno(self):
        raise io.UnsupportedOperation("fileno")


class TTY(io.BytesIO):
    """stdin that is a terminal (the slave side of a pty)."""

    def __init__(self):
        super().__init__(b"/never/read\n")
        self.master, self.slave = os.openpty()

    def fileno(self):
        return self.slave

    def close(self):
        os.close(self.master)
        os.close(self.slave)


class Sink(io.BytesIO):
    flushes = 0

    def flush(self):
        self.flushes += 1


def paths_of(records_):
    return [r.path for r in records_]


# --- parse -----------------------------------------------------------------------------------

def test_parse_plain_line_is_a_path():
    rec = parse("/srv/backups/Resolve Projects_20260101T000000Z.backup")
    assert isinstance(rec, Record)
    assert rec == {"path": "/srv/backups/Resolve Projects_20260101T000000Z.backup"}
    assert rec.path == "/srv/backups/Resolve Projects_20260101T000000Z.backup"


def test_parse_json_keeps_every_key():
    rec = parse('{"path": "/a b", "md5": "0123", "size": 12}')
    assert rec.path == "/a b"
    assert rec["md5"] == "0123" and rec["size"] == 12


@pytest.mark.parametrize("alias", ["source", "file"])
def test_parse_json_path_aliases(alias):
    assert parse(json.dumps({alias: "/x"})).path == "/x"


def test_parse_json_path_wins_over_source():
    assert parse('{"source": "/from", "path": "/to"}').path == "/to"


@pytest.mark.parametrize("line", [" {not json", "./{odd}", "x{}", "[1, 2]"])
def test_lines_not_starting_with_brace_are_paths(line):
    assert parse(line).path == line


@pytest.mark.parametrize("line", ['{"path": ', "{", '{"path": "x"} trailing', "{'path': 'x'}",
                                  '{"path": "x",}'])
def test_malformed_json_is_a_data_error(line):
    with pytest.raises(DataError) as info:
        parse(line)
    assert info.value.code == 65
    assert "malformed JSON" in info.value.message


@pytest.mark.parametrize("line", ['{"size": 1, "source": 5}', '{"nopath": 1}', '{"path": 5}', '{"path": null}',
                                  '{"path": ""}', '{"path": ["/a"]}', '{"path": "/a\\u0000b"}'])
def test_json_without_a_path_string_is_a_data_error(line):
    with pytest.raises(DataError) as info:
        parse(line)
    assert info.value.code == 65 and line[:12] in info.value.message


def test_a_path_longer_than_any_system_takes_is_malformed_and_quoted_short():
    with pytest.raises(DataError) as info:
        parse("/x" * 500_000)
    assert "longer than 4096 bytes" in info.value.message
    assert len(info.value.message) < 400 and info.value.message.endswith("...")


@given(st.text(min_size=1))
@example("\x1b[2J\x07\r\n\x9b" + os.fsdecode(b"\xff") + "\u2028")
def test_shown_is_short_and_never_holds_a_control_character(text):
    quoted = shown(text)
    assert len(quoted) <= 200 * 6 + 3
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xDC80 <= ord(c) <= 0xDCFF for c in quoted)
    if text.isprintable() and len(text) <= 200:
        assert quoted == text


# --- split_stream and read -----------------------------------------------------------------

def test_split_lines_skips_empty_and_strips_crlf():
    data = b"/a\r\n\n/b c\n\r\n/d\r\n"
    assert list(split_stream(io.BytesIO(data), null=False)) == ["/a", "/b c", "/d"]


def test_last_line_without_newline_is_kept_and_crlf_stripped():
    assert list(split_stream(io.BytesIO(b"/a\n/b"), null=False)) == ["/a", "/b"]
    assert list(split_stream(io.BytesIO(b"/a\r\n/b\r"), null=False)) == ["/a", "/b"]


def test_null_mode_keeps_newlines_and_carriage_returns_in_names():
    data = b"/a\nb\0/c\r\0\0/d"
    assert list(split_stream(io.BytesIO(data), null=True)) == ["/a\nb", "/c\r", "/d"]


def test_records_split_across_chunks(monkeypatch):
    class Slow(io.BytesIO):
        def read1(self, n=-1):
            return super().read1(3)

    data = b"/first/path\n/second/path\n" * 10
    assert list(split_stream(Slow(data), null=False)) == ["/first/path", "/second/path"] * 10


def test_undecodable_bytes_round_trip_through_surrogateescape():
    raw = b"/media/caf\xe9.mov"
    (text,) = split_stream(io.BytesIO(raw + b"\n"), null=False)
    assert os.fsencode(text) == raw


def test_read_operands_are_paths_even_if_they_look_like_json():
    stdin = Stdin(b"/never/read\n")
    got = list(read(["/a", '{"path": "/b"}'], stdin=stdin))
    assert paths_of(got) == ["/a", '{"path": "/b"}']
    assert stdin.tell() == 0


def test_read_stdin_when_no_operands():
    stdin = Stdin(b'/a\n{"path": "/b", "md5": "x"}\n')
    got = list(read([], stdin=stdin))
    assert paths_of(got) == ["/a", "/b"]
    assert got[1]["md5"] == "x"


def test_dash_operand_reads_stdin_in_place():
    stdin = Stdin(b"/s1\n/s2\n")
    assert paths_of(read(["/a", "-", "/z"], stdin=stdin)) == ["/a", "/s1", "/s2", "/z"]


def test_read_null_mode_names_with_newlines():
    stdin = Stdin(b"/a\nnewline\0/b\0")
    assert paths_of(read([], null=True, stdin=stdin)) == ["/a\nnewline", "/b"]


def test_read_from_a_real_pipe():
    r, w = os.pipe()
    os.write(w, b"/x\n/y\n")
    os.close(w)
    with os.fdopen(r, "rb") as stdin:
        assert paths_of(read([], stdin=stdin)) == ["/x", "/y"]


def test_read_with_terminal_stdin_and_no_operands_is_a_usage_error():
    tty = TTY()
    try:
        with pytest.raises(UsageError) as info:
            list(read([], stdin=tty))
        assert info.value.code == 64
        assert list(read([], stdin=tty, require=False)) == []
        assert paths_of(read(["/op"], stdin=tty)) == ["/op"]
    finally:
        tty.close()


def test_malformed_json_on_stdin_is_a_data_error():
    with pytest.raises(DataError):
        list(read([], stdin=Stdin(b'/ok\n{"path": \n')))


def test_malformed_records_go_to_on_error_and_the_rest_are_read():
    problems = []
    data = b'/a\n{"nopath":1}\n{"path":5}\n{"path":null}\n{not json\n/b\n' + b"z" * 5000 + b"\n/c\n"
    got = paths_of(read([], stdin=Stdin(data), on_error=problems.append))
    assert got == ["/a", "/b", "/c"]
    assert [p.code for p in problems] == [65] * 5
    assert [p.message.split(":")[0] for p in problems] == [f"input record {n}" for n in (2, 3, 4, 5, 7)]


# --- Writer ---------------------------------------------------------------------------------

def test_writer_plain_paths_and_pairs():
    sink = Sink()
    out = Writer(stream=sink)
    out.path("/a b/c")
    out.pair("/src", "/dst")
    out.obj({"path": "/obj", "ignored": 1})
    assert sink.getvalue() == b"/a b/c\n/src\t/dst\n/obj\n"
    assert sink.flushes == 3  # one flush per record, so the next stage can start


def test_writer_json_lines():
    sink = Sink()
    out = Writer(json_lines=True, stream=sink)
    out.path("/a", md5="ff", size=3)
    out.pair("/s", "/t", ok=True)
    lines = sink.getvalue().decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"path": "/a", "md5": "ff", "size": 3},
        {"source": "/s", "path": "/t", "ok": True},
    ]


def test_writer_json_is_readable_by_parse():
    sink = Sink()
    Writer(json_lines=True, stream=sink).path("/caf\u00e9\n2", verified=True)
    (rec,) = read([], stdin=Stdin(sink.getvalue()))
    assert rec.path == "/caf\u00e9\n2" and rec["verified"] is True


def test_writer_null_mode():
    sink = Sink()
    out = Writer(null=True, stream=sink)
    out.path("/a\nb")
    out.path("/c")
    assert sink.getvalue() == b"/a\nb\0/c\0"


def test_relative_path_starting_with_brace_is_written_dot_slash():
    assert path_text("{weird}.mov") == "./{weird}.mov"
    assert path_text("/abs/{x}") == "/abs/{x}"
    sink = Sink()
    Writer(stream=sink).path("{not json}")
    assert sink.getvalue() == b"./{not json}\n"
    (rec,) = read([], stdin=Stdin(sink.getvalue()))
    assert rec.path == "./{not json}"


def test_plain_mode_refuses_a_newline():
    sink = Sink()
    with pytest.raises(RexError) as info:
        Writer(stream=sink).path("/a\nb")
    assert info.value.code == 1
    with pytest.raises(RexError):
        Writer(stream=sink).pair("/ok", "/b\nad")
    assert sink.getvalue() == b""


def test_plain_mode_refuses_a_name_the_reader_would_change():
    # A trailing CR would be eaten by the reader's CRLF handling.
    with pytest.raises(RexError):
        Writer(stream=Sink()).path("/a\r")


def test_a_name_a_line_cannot_hold_fails_that_record_and_the_next_are_written():
    sink, problems = Sink(), []
    out = Writer(stream=sink, on_error=problems.append)
    out.path("/a")
    out.path("/new\nline")
    out.obj({"path": "/cr\r"})
    out.path("/b")
    assert sink.getvalue() == b"/a\n/b\n"
    assert [p.code for p in problems] == [1, 1]
    assert problems[0].message.startswith("/new\\nline: cannot be written as a line")


def test_a_closed_reader_is_not_an_oserror():
    class Closed(Sink):
        def write(self, data):
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(PipeClosed) as info:
        Writer(stream=Closed()).path("/a")
    assert not isinstance(info.value, OSError)


def test_writer_accepts_pathlike(tmp_path):
    sink = Sink()
    Writer(stream=sink).path(tmp_path / "x")
    assert sink.getvalue() == os.fsencode(str(tmp_path / "x")) + b"\n"


# --- round trips ---------------------------------------------------------------------------

path_texts = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1)


def _expected(path):
    return "./" + path if path.startswith("{") else path


def _round_trip(paths, **mode):
    sink = Sink()
    out = Writer(stream=sink, **mode)
    for p in paths:
        out.path(p)
    return paths_of(read([], null=mode.get("null", False), stdin=Stdin(sink.getvalue())))


@given(st.lists(path_texts.filter(lambda p: "\n" not in p and not p.endswith("\r")), max_size=5))
@example(["{x}", "a\rb", " lead", "trail ", "\u2028"])
def test_round_trip_plain(paths):
    assert _round_trip(paths) == [_expected(p) for p in paths]


@given(st.lists(path_texts, max_size=5))
@example(["{x}", "a\nb", "c\r", "\r\n"])
def test_round_trip_null(paths):
    assert _round_trip(paths, null=True) == [_expected(p) for p in paths]


@given(st.lists(path_texts, max_size=5))
@example(["{x}", "a\nb", "c\r", '{"path": "inner"}', "\u2028\u2029"])
def test_round_trip_json(paths):
    assert _round_trip(paths, json_lines=True) == paths


@given(st.binary(min_size=1).filter(lambda b: b"\0" not in b and b"\n" not in b and not b.endswith(b"\r")
                                     and not b.startswith(b"{")))
def test_round_trip_undecodable_paths(raw):
    path = os.fsdecode(raw)
    assert [os.fsencode(p) for p in _round_trip([path])] == [raw]
    assert [os.fsencode(p) for p in _round_trip([path], null=True)] == [raw]
    assert [os.fsencode(p) for p in _round_trip([path], json_lines=True)] == [raw]

