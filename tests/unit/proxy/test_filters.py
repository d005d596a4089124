"""rex.proxy.filters: which clips proxy-scan keeps (extensions, resolution, paths, rates),
the reason it gives for the others, and filters from command-line settings."""

import pytest

from rex import errors
from rex.proxy.filters import VIDEO_EXTENSIONS, Filters, big_enough, from_settings, has_extension, parse_minimum


@pytest.mark.parametrize("path, exts, ok", [("a.MOV", ["mov"], True), ("a.mov", [".MOV"], True),
                                            ("a.wav", ["mov"], False), ("a", ["mov"], False),
                                            ("a.wav", [], True)])
def test_extensions(path, exts, ok):
    assert has_extension(path, exts) is ok


def test_resolution():
    assert parse_minimum("1920x1080") == (1920, 1080) and parse_minimum("720p") == (0, 720)
    assert parse_minimum(None) is None
    with pytest.raises(ValueError):
        parse_minimum("big")
    assert big_enough("3840x2160", (1920, 1080)) and not big_enough("1280x720", (0, 1080))
    assert not big_enough(None, (0, 1)) and big_enough(None, None)


def test_filters_say_why():
    f = Filters(fps=("23.976",), minimum=(0, 1080), exclude=("*_old*",))
    assert f.rejects("/m/a.wav") == "extension"
    assert f.rejects("/m/a_old.mov", 23.976, "1920x1080") == "path"
    assert f.rejects("/m/a.mov", 24, "1920x1080") == "frame rate"
    assert f.rejects("/m/a.mov", 23.976, "1280x720") == "resolution"
    assert f.rejects("/m/a.mov", "24000/1001", "1920x1080") is None


def test_filters_from_settings():
    assert from_settings(VIDEO_EXTENSIONS, [], [], [], None) == Filters()
    got = from_settings(["mov"], ["*/Day1/*"], ["*.tmp"], ["23.976", "25"], "1080")
    assert got == Filters(("mov",), ("*/Day1/*",), ("*.tmp",), ("23.976", "25"), (0, 1080))


@pytest.mark.parametrize("fps, size, message", [
    (["24", "fast"], None, "--fps: not a frame rate: 'fast'"),
    ([], "big", "--min-resolution: not a resolution (WIDTHxHEIGHT or HEIGHT): 'big'"),
])
def test_bad_settings_are_usage_errors_naming_the_option(fps, size, message):
    with pytest.raises(errors.UsageError) as caught:
        from_settings(VIDEO_EXTENSIONS, [], [], fps, size)
    assert caught.value.message == message and caught.value.code == errors.USAGE
