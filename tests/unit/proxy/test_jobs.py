"""proxy.jobs: input records to encode Jobs, problems reported in input order, a proxy made once."""

import os

from hypothesis import given
from hypothesis import strategies as st

from rex import errors
from rex.media.layout import proxy_path
from rex.parallel import IDLE
from rex.proxy.jobs import encode_jobs, with_problems
from rex.records import Record


def _run(items, place=proxy_path, preset=None, height="half"):
    problems = []
    jobs = list(encode_jobs(items, place, preset, height, lambda code, message: problems.append((code, message))))
    return jobs, problems


@given(st.lists(st.one_of(st.integers(0, 9), st.none())))
def test_problems_come_in_input_order(stream):
    """Each None in `stream` is a malformed record, reported by the reader through on_error."""
    def read(on_error):
        for n, item in enumerate(stream):
            if item is None:
                on_error(errors.DataError(f"bad {n}"))
            else:
                yield item

    got = [record if problem is None else problem.message for record, problem in with_problems(read)]
    assert got == [item if item is not None else f"bad {n}" for n, item in enumerate(stream)]


def test_one_job_per_record_with_its_proxy_place_and_record():
    jobs, problems = _run([(Record(path="/m/A.mp4", start_tc="01:00:00:00"), None)], preset="dnxhr_lb", height=540)
    assert problems == [] and len(jobs) == 1
    job = jobs[0]
    assert (job.source, job.proxy, job.preset, job.height) == ("/m/A.mp4", "/m/Proxy/A.mov", "dnxhr_lb", 540)
    assert job.record == {"path": "/m/A.mp4", "start_tc": "01:00:00:00"} and type(job.record) is dict


def test_a_source_given_twice_is_encoded_once():
    jobs, problems = _run([(Record(path="/m/A.mp4"), None), (Record(path="/m/./A.mp4"), None)])
    assert [j.proxy for j in jobs] == ["/m/Proxy/A.mov"] and problems == []


def test_two_sources_never_share_a_proxy():
    jobs, problems = _run([(Record(path="/m/A.mp4"), None), (Record(path="/m/A.mxf"), None)])
    assert [j.source for j in jobs] == ["/m/A.mp4"]
    assert problems == [(errors.CANTCREAT, "/m/A.mxf: its proxy /m/Proxy/A.mov is already the proxy of /m/A.mp4")]


def test_problems_and_unplaceable_sources_are_reported_and_idle_passes_through():
    def place(source):
        return proxy_path(source, subfolder=os.curdir)     # a .mov would be its own proxy

    jobs, problems = _run([(None, errors.DataError("line 2: not JSON")), IDLE,
                           (Record(path="/m/B.mov"), None), (Record(path="rel.mp4"), None)], place=place)
    assert jobs[0] is None and [(j.source, j.proxy) for j in jobs[1:]] == [("rel.mp4", os.path.abspath("rel.mov"))]
    assert [code for code, _m in problems] == [errors.DATAERR, errors.CANTCREAT]
    assert problems[0][1] == "line 2: not JSON" and "would be the source itself" in problems[1][1]
