"""rex.proxy.match: the differences between a source and its proxy that make Resolve refuse a link."""

from fractions import Fraction

from rex.proxy.match import mismatches


def test_mismatches():
    src = {"fps": Fraction(24000, 1001), "frames": 24, "start_tc": "01:00:00:00", "audio_streams": 2}
    assert mismatches(src, dict(src, fps=23.976)) == []
    assert mismatches(src, dict(src, start_tc="01;00;00;00")) == []
    got = mismatches(src, {"fps": 25, "frames": 25, "start_tc": None, "audio_streams": 1})
    assert [g.split(" differs")[0] for g in got] == ["frame rate", "frame count", "start timecode",
                                                     "audio stream count"]
    assert mismatches({"fps": None, "frames": None, "start_tc": None, "audio_streams": None},
                      {"fps": 25, "frames": 3, "start_tc": None, "audio_streams": 4}) == []
