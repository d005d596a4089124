"""proxy.scan and proxy.filters as proxy-scan calls them: operands, and filters from settings."""

import pytest

from rex import errors
from rex.proxy.filters import VIDEO_EXTENSIONS, Filters, from_settings
from rex.proxy.scan import operand_paths
from rex.records import Record


def test_dash_reads_the_paths_of_records_there_in_operand_order():
    reads = []

    def read():
        reads.append(1)
        return iter([Record(path="/m/B.mov"), Record(path=""), Record(path="/m/C.mov")])

    assert list(operand_paths(["/m/A.mov", "-", "/m/D.mov"], read)) == ["/m/A.mov", "/m/B.mov", "/m/C.mov",
                                                                           "/m/D.mov"]
    assert reads == [1]
    assert list(operand_paths(["/m/A.mov"], read)) == ["/m/A.mov"] and reads == [1]   # stdin untouched


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
