"""Every argv builder that hands a path to another program: the path can never be taken
for an option, and it still names the same file."""

import os

from hypothesis import given
from hypothesis import strategies as st

from rex.media.probe import ffprobe_argv
from rex.pg.archive import data_argv, toc_argv
from rex.pg.projects import list_argv
from rex.pg.restore import pg_restore_argv
from rex.runner import operand

paths = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1)


@given(paths)
def test_operand_never_starts_with_a_dash_and_names_the_same_file(path):
    arg = operand(path)
    assert not arg.startswith("-")
    assert os.path.normpath(arg) == os.path.normpath(path)


@given(paths.map(lambda p: "-" + p))
def test_pg_restore_argv_builders_end_with_the_path_as_an_operand(path):
    for argv in (toc_argv("pg_restore", path), data_argv("pg_restore", path), list_argv("pg_restore", path),
                 pg_restore_argv("pg_restore", "db", path), pg_restore_argv("pg_restore", "db", path, jobs=4)):
        assert argv[-1] == "./" + path


def test_ffmpeg_and_ffprobe_take_paths_as_file_urls():
    assert ffprobe_argv("ffprobe", "-clip.mov")[-1] == "file:-clip.mov"
    assert ffprobe_argv("ffprobe", "-clip.mov", count_packets=True)[-1] == "file:-clip.mov"
