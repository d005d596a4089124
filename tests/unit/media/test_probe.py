"""media.probe's pure parts: the ffprobe command line, and the one lookup of ffprobe and ffmpeg."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex import errors
from rex.media.encode import find_ffmpeg
from rex.media.probe import ffprobe_argv, find_ffprobe, find_tool

paths = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1)


def test_ffprobe_argv_prints_streams_and_format_as_json():
    assert ffprobe_argv("/usr/bin/ffprobe", "/m/A.mov") == [
        "/usr/bin/ffprobe", "-v", "error", "-hide_banner", "-of", "json", "-show_streams", "-show_format",
        "-i", "file:/m/A.mov"]


@given(paths, st.booleans())
def test_ffprobe_argv_counts_packets_only_when_asked_and_ends_with_the_file(path, count):
    argv = ffprobe_argv("ffprobe", path, count_packets=count)
    assert argv[0] == "ffprobe"
    assert argv[-2:] == ["-i", "file:" + path]          # a path starting with '-' is no option
    assert ("-count_packets" in argv) == count
    assert argv[:-2].count("-i") == 0


class _Config:
    """The configuration's get: KeyError for a key it does not know, like config.loader's."""

    def __init__(self, values):
        self.values = values

    def get(self, name):
        return self.values[name]


def test_a_configured_program_is_used_as_given():
    true = "/bin/true" if os.access("/bin/true", os.X_OK) else "/usr/bin/true"
    assert find_ffprobe(_Config({"proxy.ffprobe": true})) == true
    assert find_ffmpeg(_Config({"proxy.ffmpeg": true})) == true


def test_a_configured_program_that_is_missing_is_69(tmp_path):
    with pytest.raises(errors.Unavailable) as caught:
        find_tool("ffmpeg", _Config({"proxy.ffmpeg": str(tmp_path / "nothing")}))
    assert caught.value.code == errors.UNAVAILABLE and "nothing" in caught.value.message


def test_without_configuration_the_program_comes_from_path(tmp_path, monkeypatch):
    program = tmp_path / "ffprobe"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_tool("ffprobe") == str(program)
    assert find_tool("ffprobe", _Config({})) == str(program)          # key unknown: PATH
    assert find_tool("ffprobe", _Config({"proxy.ffprobe": None})) == str(program)
    with pytest.raises(errors.Unavailable):
        find_tool("ffmpeg", _Config({"proxy.ffmpeg": None}))         # not on this PATH
