"""Pure decisions of proxy-scan and proxy-link: frame rates, globs, resolutions,
timeline choice, input pairs, the reasons a proxy does not match."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex import errors
from rex.paths import path_matches, path_selected
from rex.media.rates import any_rate_matches, parse_rate, rate_matches
from rex.proxy.filters import Filters, big_enough, has_extension, parse_minimum
from rex.proxy.link import parse_pair, wrong_project, LinkRequest
from rex.proxy.match import mismatches
from rex.proxy.scan import choose_timelines
from rex.records import parse

NTSC = [24, 30, 48, 60, 120]


@given(st.sampled_from(NTSC), st.sampled_from([2, 3]))
def test_ntsc_rates_match_their_decimal_forms_not_the_integer(n, places):
    exact = Fraction(n * 1000, 1001)
    decimal = round(float(exact), places)
    assert rate_matches(exact, decimal) and rate_matches(str(decimal), f"{n * 1000}/1001")
    assert not rate_matches(exact, n) and not rate_matches(decimal, n)


@given(st.fractions(min_value=1, max_value=300), st.fractions(min_value=1, max_value=300))
def test_rate_matching_is_symmetric_and_reflexive(a, b):
    assert rate_matches(a, a)
    assert rate_matches(a, b) == rate_matches(b, a)


@pytest.mark.parametrize("text, value", [("23.976", 23.976), ("24000/1001", 24000 / 1001), ("25 fps", 25.0),
                                         (59.94, 59.94), ("30p", 30.0), ("0", None), ("x", None),
                                         ("1/0", None), (None, None), (True, None), ("nan", None)])
def test_parse_rate(text, value):
    assert parse_rate(text) == (pytest.approx(value) if value else None)


def test_any_rate_empty_means_any():
    assert any_rate_matches(None, []) and any_rate_matches(25, ["29.97", "25"])
    assert not any_rate_matches(None, ["25"])


@given(st.text(alphabet=st.characters(blacklist_characters="/\0*?[]"), min_size=1, max_size=20))
def test_globs_without_slash_match_the_file_name(name):
    path = "/Volumes/Media/" + name
    assert path_matches(path, "*") and path_matches(path, name)
    assert not path_matches("/other/" + name + "x", name)
    assert path_matches(path, "/Volumes/*") and path_selected(path, include=["/Volumes/*"])
    assert not path_selected(path, exclude=[name]) and path_selected(path)


def test_star_crosses_slashes_in_path_patterns():
    assert path_matches("/a/b/c/D.mov", "/a/*.mov") and not path_matches("/a/b/D.mov", "/x/*")


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


@given(st.lists(st.sampled_from(["Edit 1", "Edit 2", "Final", "current"]), max_size=5), st.data())
def test_choose_timelines(names, data):
    current = data.draw(st.one_of(st.none(), st.integers(0, len(names) - 1))) if names else None
    chosen, unmatched = choose_timelines(names, current, (), True)
    assert chosen == list(range(len(names))) and not unmatched
    chosen, _ = choose_timelines(names, current, (), False)
    assert chosen == ([] if current is None else [current])
    chosen, unmatched = choose_timelines(names, current, ("Edit*", "Edit 1"), False)
    assert len(chosen) == len(set(chosen))
    assert all(names[i].startswith("Edit") for i in chosen)
    assert ("Edit*" in unmatched) == (not any(n.startswith("Edit") for n in names))


def test_parse_pair_plain_and_json():
    assert parse_pair(parse("/s/a.mov\t/p/a.mov")) == LinkRequest("/s/a.mov", "/p/a.mov")
    r = parse_pair(parse('{"source": "/s/a.mov", "path": "/p/a.mov", "media_id": "m1", "project": "Cut"}'))
    assert (r.source, r.proxy, r.media_id, r.project) == ("/s/a.mov", "/p/a.mov", "m1", "Cut")
    for bad in ("/s/a.mov", '{"source": "/s/a.mov"}', "\t/p/a.mov"):
        with pytest.raises(errors.DataError):
            parse_pair(parse(bad))


def test_wrong_project():
    assert wrong_project(LinkRequest("s", "p"), "Cut", "id1") is None
    assert wrong_project(LinkRequest("s", "p", project="Cut"), "Cut", "id1") is None
    assert wrong_project(LinkRequest("s", "p", project="Old"), "Cut", "id1")
    assert wrong_project(LinkRequest("s", "p", project="Cut", project_id="id2"), "Cut", "id1")


def test_mismatches():
    src = {"fps": Fraction(24000, 1001), "frames": 24, "start_tc": "01:00:00:00", "audio_streams": 2}
    assert mismatches(src, dict(src, fps=23.976)) == []
    assert mismatches(src, dict(src, start_tc="01;00;00;00")) == []
    got = mismatches(src, {"fps": 25, "frames": 25, "start_tc": None, "audio_streams": 1})
    assert [g.split(" differs")[0] for g in got] == ["frame rate", "frame count", "start timecode",
                                                     "audio stream count"]
    assert mismatches({"fps": None, "frames": None, "start_tc": None, "audio_streams": None},
                      {"fps": 25, "frames": 3, "start_tc": None, "audio_streams": 4}) == []
