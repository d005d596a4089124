"""rex.proxy.link: reading link requests, and planning: which requests are linked, when to
ask first, how a refusal reads."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex import errors
from rex.proxy.link import LinkRequest, must_confirm, parse_pair, plan, refusal, wrong_project
from rex.proxy.match import PROJECT_MANAGER_HINT
from rex.records import parse


class Pool:
    """What plan needs of a Linker: the open project's identity and the clips of each source."""

    name, project_id = "Cut", "id1"

    def __init__(self, clips):
        self.clips = clips

    def items_for(self, request):
        return self.clips.get(request.source, [])


def test_plan_keeps_this_projects_requests_with_clips_in_input_order():
    a, b = LinkRequest("/m/A.mp4", "/p/A.mov"), LinkRequest("/m/B.mp4", "/p/B.mov", project="Cut")
    elsewhere = LinkRequest("/m/C.mp4", "/p/C.mov", project="Grade")
    missing = LinkRequest("/m/D.mp4", "/p/D.mov")
    pairs, refused = plan(Pool({"/m/A.mp4": ["m1", "m2"], "/m/B.mp4": ["m3"], "/m/C.mp4": ["m4"]}),
                          [a, elsewhere, b, missing])
    assert pairs == [(a, "m1"), (a, "m2"), (b, "m3")]
    assert refused == ["/m/C.mp4: not linked: scanned in project 'Grade', but 'Cut' is open",
                       "/m/D.mp4: no clip of this file in the media pool of 'Cut'"]


@given(st.integers(0, 200), st.one_of(st.none(), st.integers(0, 100)), st.booleans(), st.booleans())
def test_ask_only_over_the_limit_without_yes_at_a_terminal(count, limit, yes, interactive):
    asked = must_confirm(count, limit, yes, interactive)
    assert asked == (bool(limit) and count > limit and not yes and interactive)
    assert not must_confirm(count, 0, yes, interactive)


def test_a_refusal_names_the_reasons_and_the_project_manager_unless_the_file_is_missing():
    request = LinkRequest("/m/A.mp4", "/p/A.mov")
    assert refusal(request, ["frame count differs: source 10, proxy 9"]) == [
        "/m/A.mp4: Resolve refused to link /p/A.mov: frame count differs: source 10, proxy 9",
        PROJECT_MANAGER_HINT]
    assert refusal(request, ["proxy file missing"]) == ["/m/A.mp4: Resolve refused to link /p/A.mov: "
                                                        "proxy file missing"]
    assert refusal(request, [])[0].endswith("no difference found in frame rate, frame count, start timecode "
                                            "or audio streams")
    assert refusal(request, [])[1] == PROJECT_MANAGER_HINT


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
