"""The pure proxy decisions: sizes, filters, timecode, rules, layout and the ffmpeg argv."""

import os
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex.config import schema
from rex.errors import CantCreate
from rex.media import layout, presets, probe

NTSC = Fraction(30000, 1001)


@given(st.integers(2, 8192), st.integers(2, 4320),
       st.one_of(st.integers(16, 8640), st.sampled_from(sorted(presets.FRACTIONS))))
def test_sizes_never_upscale_are_even_and_keep_the_aspect(width, height, spec):
    w, h = presets.target_size(spec, width, height)
    assert w % 2 == 0 and h % 2 == 0 and w >= 2 and h >= 2
    assert h <= height and w <= width
    # The height asked for (a fraction of the source's, or pixels), at least 16 px unless the
    # source is smaller, rounded down to even.
    asked = height // presets.FRACTIONS[spec] if isinstance(spec, str) else spec
    wanted = min(max(asked, presets.MIN_HEIGHT), height)
    assert wanted - 1 <= h <= wanted or h == 2
    assert h >= min(presets.MIN_HEIGHT, height - height % 2)
    # The width is the even number nearest the exact aspect: within 1 px of it, and no
    # other even width the source allows is nearer.
    exact = Fraction(width * h, height)
    assert abs(w - exact) <= 1 or w == 2
    assert all(abs(w - exact) <= abs(other - exact) for other in (w - 2, w + 2) if 2 <= other <= width)


def test_common_sizes():
    assert presets.target_size(720, 1920, 1080) == (1280, 720)
    assert presets.target_size("half", 3840, 2160) == (1920, 1080)
    assert presets.target_size(1080, 1280, 720) == (1280, 720)
    assert presets.target_size("original", 321, 181) == (320, 180)
    assert presets.target_size("half", 1921, 1081) == (960, 540)          # 959.6: 960 is nearer than 958
    assert presets.target_size("sixteenth", 320, 180) == (28, 16)         # 11 px would be under 16
    assert presets.target_size("sixteenth", 640, 12) == (640, 12)         # a source under 16 px: its own
    with pytest.raises(ValueError):
        presets.parse_height("huge")


def test_presets_match_the_schema_and_use_the_right_pixel_format():
    assert tuple(presets.PRESETS) == schema.PROXY_PRESETS
    fmt = {"prores_ks": "yuv422p10le", "dnxhd": "yuv422p", "libx264": "yuv420p"}
    for preset in presets.PRESETS.values():
        codec = preset.video[preset.video.index("-c:v") + 1]
        assert preset.pix_fmt == fmt[codec], preset.name
    assert "-qscale:v" in presets.PRESETS["prores_proxy"].video


@given(st.integers(0, 24 * 107892 - 1))
def test_drop_frame_timecode_round_trips(frames):
    text = presets.format_timecode(frames, NTSC, drop=True)
    assert ";" in text and presets.to_frames(text, NTSC) == frames
    mm, ff = int(text[3:5]), int(text[9:])
    assert not (ff < 2 and mm % 10 != 0 and text[6:8] == "00")   # dropped numbers never appear


def test_drop_frame_known_values():
    assert presets.format_timecode(1800, NTSC, True) == "00:01:00;02"
    assert presets.format_timecode(17982, NTSC, True) == "00:10:00;00"
    assert presets.to_frames("01:00:00;00", NTSC) == 107892
    assert presets.format_timecode(90000, 25) == "01:00:00:00"


def test_start_timecode_prefers_the_record_and_keeps_drop_frame():
    assert presets.start_timecode("02:00:00:00", "01:00:00:00", Fraction(24000, 1001)) == "02:00:00:00"
    assert presets.start_timecode(None, "01:00:00;00", NTSC) == "01:00:00;00"
    assert presets.start_timecode("01:00:00:00", "01:00:00;00", NTSC) == "01:00:00;00"
    assert presets.start_timecode("01:00:00;00", None, Fraction(25)) == "01:00:00:00"
    assert presets.start_timecode("garbage", None, Fraction(25)) is None
    assert presets.same_timecode("1:00:00:00", "01:00:00:00", Fraction(25))
    assert not presets.same_timecode("01:00:00;00", "01:00:00:00", NTSC)


def test_filters_from_the_clip_record():
    assert presets.video_filter((640, 360)) == "scale=640:360"
    assert presets.video_filter((640, 360), hflip="On", vflip=True, data_level="Full") == \
        "hflip,vflip,scale=640:360:in_range=full:out_range=limited"
    assert presets.video_filter((640, 360), hflip="Off", data_level="Auto") == "scale=640:360"


def test_rules_first_match_wins_and_preset_overrides():
    rules = [{"match": {"ext": ["MXF"]}, "preset": "dnxhr_lb"},
             {"match": {"glob": "*/Phones/*", "max_height": 1080}, "preset": "h264_intra"},
             {"match": {"min_height": 2160}, "preset": "prores_lt"}]
    choose = presets.choose_preset
    assert choose("/m/A.mxf", 3840, 2160, rules) == "dnxhr_lb"
    assert choose("/m/Phones/x.mp4", 1920, 1080, rules) == "h264_intra"
    assert choose("/m/Phones/x.mp4", 3840, 2160, rules) == "prores_lt"
    assert choose("/m/x.mp4", 1920, 1080, rules) == "prores_proxy"
    assert choose("/m/A.mxf", 1920, 1080, rules, override="h264_intra") == "h264_intra"
    assert choose("/m/x.mp4", 1920, 1080, [{"match": {"glob": "x.*"}, "preset": "dnxhr_sq"}]) == "dnxhr_sq"


def test_argv_keeps_rate_audio_and_timecode():
    facts = probe.Facts(1920, 1080, Fraction(24000, 1001), 100, "01:00:00:00", 2, 4.2)
    plan = presets.plan("/m/A.mp4", "/p/A.mov.part", facts, {"start_tc": "02:00:00:00"}, "prores_proxy", 720, 1)
    argv = presets.ffmpeg_argv("ffmpeg", plan)
    assert "-r" not in argv and argv[argv.index("-fps_mode") + 1] == "passthrough"
    assert argv[argv.index("-timecode") + 1] == "02:00:00:00"
    assert "0:a?" in argv and argv[argv.index("-c:a") + 1] == "pcm_s16le"
    assert argv[-3:] == ["-f", "mov", "file:/p/A.mov.part"] and "-progress" in argv
    assert argv[argv.index("-vf") + 1] == "scale=1280:720"
    assert argv[argv.index("-pix_fmt") + 1] == "yuv422p10le"


def test_layouts():
    assert layout.proxy_path("/Volumes/Media/DCIM/A001.MP4") == "/Volumes/Media/DCIM/Proxy/A001.mov"
    assert layout.proxy_path("/Volumes/Media/Day1/A001.mp4", root="/srv/px") == \
        "/srv/px/Volumes/Media/Day1/A001.mov"
    assert layout.proxy_path("/a/b.mxf", subfolder="P") == "/a/P/b.mov"
    assert layout.part_path("/a/P/b.mov") == "/a/P/b.mov.part"
    with pytest.raises(CantCreate):
        layout.proxy_path("/a/Proxy/b.mov", root="/")
    with pytest.raises(CantCreate):
        layout.proxy_path("/x/Proxy/b.mov", subfolder=os.curdir)


def test_probe_parse_and_differences():
    text = ('{"streams": [{"codec_type": "video", "width": 1920, "height": 1080, "r_frame_rate": "30000/1001",'
            ' "nb_frames": "300", "codec_name": "h264", "tags": {"timecode": "01:00:00;00"}},'
            ' {"codec_type": "audio"}, {"codec_type": "audio"}], "format": {"duration": "10.01"}}')
    facts = probe.parse(text)
    assert (facts.fps, facts.frames, facts.timecode, facts.audio_streams) == (NTSC, 300, "01:00:00;00", 2)
    other = probe.Facts(960, 540, NTSC, 299, "01:00:00;00", 1, 10.0)
    found = probe.differences(facts, other, "01:00:00;00", presets.same_timecode)
    assert found == ["frame count 299 instead of 300", "1 audio streams instead of 2"]
    rotated = probe.parse(text.replace('"tags"', '"side_data_list": [{"rotation": -90}], "tags"'))
    assert (rotated.width, rotated.height) == (1080, 1920)


@given(st.integers(128, 2048).map(lambda x: 2 * x), st.integers(60, 1080).map(lambda x: 2 * x),
       st.sampled_from(["half", "quarter", "sixteenth", 16, 90]))
def test_dnxhr_frames_are_never_below_its_minimum(width, height, spec):
    """Any even source at least 256x120 gets a DNxHR frame the encoder accepts."""
    from rex.media.presets import PRESETS, target_size

    w, h = target_size(spec, width, height, PRESETS["dnxhr_lb"].minimum)
    assert w >= 256 and h >= 120 and w <= width and h <= height and w % 2 == 0 and h % 2 == 0


def test_a_source_below_the_codec_minimum_is_refused():
    import pytest

    from rex.media.presets import PRESETS, target_size

    with pytest.raises(ValueError, match="minimum 256x120"):
        target_size("half", 200, 100, PRESETS["dnxhr_sq"].minimum)
