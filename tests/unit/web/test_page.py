"""The status page as a pure function (web/page.py): escaping and what each part says."""

from hypothesis import given
from hypothesis import strategies as st

from rex.web.page import render

NOTHING = {"configured": False}


def a_set(name, reasons=(), state="OK", **extra):
    return dict({"id": "s1", "kind": "export", "library": "Local Database", "project": name, "name": name,
                 "ext": ".drp", "directory": "Local Database/" + name, "newest": "2026-12-03T10:00:00Z",
                 "age_s": 3600, "count": 2, "bytes": 2048, "saved_bytes": 1024, "verified_newest": None,
                 "verified_at": None, "verify_failed": False, "uploaded_newest": None, "uploaded_at": None,
                 "state": state, "reasons": list(reasons)}, **extra)


hostile = st.text(min_size=1, max_size=40).map(lambda t: "<script>" + t + "</b>\"'&")


@given(name=hostile, reason=hostile, tail=hostile, job=hostile, host=hostile)
def test_every_name_from_files_and_posts_is_escaped(name, reason, tail, job, host):
    page = render({"verdict": "CRITICAL", "reasons": [reason]}, [a_set(name, [reason], "FAILED")],
                  [{"job": job, "host": host, "status": "failure", "log_tail": tail, "exit_code": 1}],
                  NOTHING, NOTHING, {"q": name})
    assert "<script>" not in page and "</b>" not in page


def test_unconfigured_sections_say_so_and_a_farm_lists_its_workers():
    page = render({"verdict": "OK", "reasons": []}, [], [], NOTHING, NOTHING)
    assert page.count("not configured") == 2 and "No backup set matches." in page
    farm = {"configured": True, "available": True, "queues": {"proxy": 3},
            "workers": [{"host": "render1", "version": "1.0", "state": "busy", "job": "A001.mov", "progress": 0.5}]}
    page = render({"verdict": "OK", "reasons": []}, [], [], NOTHING, farm)
    assert "render1" in page and "A001.mov" in page and "proxy 3" in page and page.count("not configured") == 1


def test_a_large_tree_lists_the_worst_sets_and_says_how_many_more():
    from rex.web.page import ROWS

    sets = [a_set(f"show{i:05d}") for i in range(ROWS + 7)]
    page = render({"verdict": "OK", "reasons": []}, sets, [], NOTHING, NOTHING, total=ROWS + 7)
    assert "show00000" in page and f"show{ROWS - 1:05d}" in page and f"show{ROWS:05d}" not in page
    assert "and 7 more" in page and f"{ROWS + 7} sets" in page
