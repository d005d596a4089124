"""rex.checksum: md5 of files and md5sum-compatible sidecars."""

import hashlib
import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rex import checksum
from rex.checksum import md5_file, read_sidecar, sidecar_path, write_sidecar
from rex.errors import DataError

needs_md5sum = pytest.mark.skipif(shutil.which("md5sum") is None, reason="md5sum not installed")


def md5sum_check(directory, sidecar_name):
    """`md5sum -c` of a sidecar (a name starting with '-' is no option). md5sum reads a file
    named exactly '-' from its standard input, so that file is given there too."""
    with open(os.path.join(directory, sidecar_name[:-len(".md5")]), "rb") as stdin:
        return subprocess.run(["md5sum", "-c", "--", sidecar_name], cwd=directory, stdin=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                              env=dict(os.environ, LC_ALL="C"))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3 * checksum.CHUNK // 2) | st.sampled_from([b"", b"x" * checksum.CHUNK]))
def test_md5_file_equals_hashlib(tmp_path, data):
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    assert md5_file(str(path)) == hashlib.md5(data).hexdigest()


def test_md5_file_of_a_large_file_spanning_chunks(tmp_path):
    data = os.urandom(checksum.CHUNK * 3 + 12345)
    path = tmp_path / "big.backup"
    path.write_bytes(data)
    assert md5_file(str(path)) == hashlib.md5(data).hexdigest()


def test_md5_file_follows_symlinks(tmp_path):
    (tmp_path / "real").write_bytes(b"content")
    (tmp_path / "link").symlink_to("real")
    assert md5_file(str(tmp_path / "link")) == hashlib.md5(b"content").hexdigest()


def test_md5_file_missing_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        md5_file(str(tmp_path / "nope"))


@needs_md5sum
@pytest.mark.parametrize("name", [
    "Resolve Projects_20260101T000000Z.backup",
    "plain.backup",
    "  leading and trailing spaces  ",
    "caf\u00e9 \u65e5\u672c.drp",
    "star*question?.sql",
    "back\\slash.backup",
    "new\nline.backup",
])
def test_sidecar_is_accepted_by_md5sum(tmp_path, name):
    data = os.urandom(5000)
    path = tmp_path / name
    path.write_bytes(data)
    digest = hashlib.md5(data).hexdigest()
    write_sidecar(str(path), digest)
    side = sidecar_path(str(path))
    assert os.path.basename(side) == name + ".md5"
    result = md5sum_check(str(tmp_path), os.path.basename(side))
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert read_sidecar(str(path)) == digest


def md5sum_line(directory, name):
    """What md5sum itself writes for the file `name` (bytes) in `directory`."""
    with open(os.path.join(directory, name), "rb") as stdin:   # a file named '-' is read from stdin
        return subprocess.run([b"md5sum", b"--", name], cwd=directory, stdin=stdin, stdout=subprocess.PIPE,
                              check=True, timeout=30).stdout


@needs_md5sum
@pytest.mark.parametrize("name", [b"caf\xe9_20260101T000000Z.backup", b"a\xffb.sql", b"back\\slash\xfe.drp",
                                  b"new\nline\xff.backup", b"\xff\\\n\xfe"])
def test_a_name_that_is_not_utf8_gets_the_sidecar_md5sum_writes(tmp_path, name):
    """The name's bytes go into the sidecar as they are (md5sum escapes only a backslash and a
    newline); md5sum -c and read_sidecar read it back."""
    directory = os.fsencode(str(tmp_path))
    data = os.urandom(300)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)
    path = os.fsdecode(os.path.join(directory, name))        # as Rex holds it: a str, surrogate-escaped
    write_sidecar(path, hashlib.md5(data).hexdigest())
    with open(os.path.join(directory, name + b".md5"), "rb") as f:
        assert f.read() == md5sum_line(directory, name)
    result = md5sum_check(directory, name + b".md5")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert read_sidecar(path) == hashlib.md5(data).hexdigest()


# Any name a file can have, but a carriage return (which md5sum 9 escapes as well, and
# md5sum 8 does not read back escaped): every byte but NUL and /, not . or ..
file_names = st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\0", b"").replace(b"/", b"")
                                                         .replace(b"\r", b"")).filter(lambda b: b not in (b"", b".", b".."))


@needs_md5sum
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(file_names)
@example(b"-")          # md5sum's standard input
@example(b"-\x01")      # no option
def test_every_name_gets_what_md5sum_writes_and_reads_back(tmp_path, name):
    directory = os.fsencode(str(tmp_path))
    target = os.path.join(directory, name)
    with open(target, "wb") as f:
        f.write(name)
    try:
        path = os.fsdecode(target)
        write_sidecar(path, md5_file(path))
        with open(target + b".md5", "rb") as f:
            assert f.read() == md5sum_line(directory, name)
        assert md5sum_check(directory, name + b".md5").returncode == 0
        assert read_sidecar(path) == hashlib.md5(name).hexdigest()
    finally:
        for leftover in (target, target + b".md5"):
            if os.path.lexists(leftover):
                os.unlink(leftover)


@needs_md5sum
def test_md5sum_rejects_a_flipped_byte(tmp_path):
    path = tmp_path / "with space.backup"
    data = bytearray(os.urandom(4096))
    path.write_bytes(bytes(data))
    write_sidecar(str(path), md5_file(str(path)))
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    assert md5sum_check(str(tmp_path), "with space.backup.md5").returncode != 0
    assert md5_file(str(path)) != read_sidecar(str(path))


@needs_md5sum
def test_read_sidecar_accepts_what_md5sum_writes(tmp_path):
    for name, binary in (("a b.backup", False), ("c.backup", True)):
        path = tmp_path / name
        path.write_bytes(os.urandom(100))
        argv = ["md5sum"] + (["-b"] if binary else []) + [name]
        text = subprocess.run(argv, cwd=tmp_path, stdout=subprocess.PIPE, check=True).stdout
        (tmp_path / (name + ".md5")).write_bytes(text)
        assert read_sidecar(str(path)) == hashlib.md5(path.read_bytes()).hexdigest()


@needs_md5sum
@pytest.mark.parametrize("name", ["a b.backup", "paren) = x.drp", "new\nline.sql", "back\\slash.backup"])
def test_read_sidecar_accepts_what_md5sum_tag_writes(tmp_path, name):
    """BSD style, `MD5 (NAME) = HEX` (md5sum --tag, macOS md5): md5sum -c reads it, so do we."""
    path = tmp_path / name
    path.write_bytes(os.urandom(100))
    text = subprocess.run(["md5sum", "--tag", "--", name], cwd=tmp_path, stdout=subprocess.PIPE,
                          check=True).stdout
    assert b"MD5 (" in text
    (tmp_path / (name + ".md5")).write_bytes(text)
    assert md5sum_check(str(tmp_path), name + ".md5").returncode == 0
    assert read_sidecar(str(path)) == hashlib.md5(path.read_bytes()).hexdigest()


@given(st.binary(min_size=16, max_size=16), st.text(min_size=1, max_size=40).filter(lambda t: "\n" not in t),
       st.booleans())
def test_both_sidecar_forms_give_the_digest(raw, name, tag):
    digest = raw.hex()
    line = f"MD5 ({name}) = {digest}" if tag else f"{digest}  {name}"
    assert checksum.parse_line(line) == digest
    assert checksum.parse_line(line.upper() if tag else digest.upper() + "  " + name) == digest


def test_sidecar_is_private_and_one_line(tmp_path):
    path = tmp_path / "x.backup"
    path.write_bytes(b"1")
    write_sidecar(str(path), "d41d8cd98f00b204e9800998ecf8427e")
    side = tmp_path / "x.backup.md5"
    assert side.read_text() == "d41d8cd98f00b204e9800998ecf8427e  x.backup\n"
    assert side.stat().st_mode & 0o077 == 0


def test_read_sidecar_uppercase_digest(tmp_path):
    (tmp_path / "x.md5").write_text("D41D8CD98F00B204E9800998ECF8427E  x\n")
    assert read_sidecar(str(tmp_path / "x")) == "d41d8cd98f00b204e9800998ecf8427e"


@pytest.mark.parametrize("text", [
    b"",
    b"\n",
    b"not a checksum\n",
    b"d41d8cd98f00b204e9800998ecf8427  x\n",              # 31 hex digits
    b"d41d8cd98f00b204e9800998ecf8427e0  x\n",            # 33
    b"g41d8cd98f00b204e9800998ecf8427e  x\n",             # not hex
    b"d41d8cd98f00b204e9800998ecf8427e x\n",              # one space is not the format
    b"\xff\xfe\x00garbage",
    b"MD5 (x) = d41d8cd98f00b204e9800998ecf8427\n",        # BSD form, 31 digits
    b"MD5 (x) d41d8cd98f00b204e9800998ecf8427e\n",         # no " = "
    b"SHA1 (x) = d41d8cd98f00b204e9800998ecf8427e\n",      # another algorithm
])
def test_read_sidecar_rejects_malformed(tmp_path, text):
    (tmp_path / "f.backup.md5").write_bytes(text)
    with pytest.raises(DataError) as info:
        read_sidecar(str(tmp_path / "f.backup"))
    assert info.value.code == 65


def test_read_sidecar_missing_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_sidecar(str(tmp_path / "none.backup"))
