"""Pieces of rex-web's app that decide on their own (web/app.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex.web.app import BadRequest, SharedJudgement, set_filters
from rex.web.openapi import SORTS, STATES


class Counting:
    remote = "sf:tree"

    def __init__(self):
        self.calls = 0

    def sets(self):
        self.calls += 1
        return [{"id": str(self.calls)}]


def test_sets_are_judged_once_a_second_and_shared():
    now = [100.0]
    inventory = Counting()
    shared = SharedJudgement(inventory, fresh_for=1.0, clock=lambda: now[0])
    first = shared.sets()
    now[0] += 0.9
    assert shared.sets() is first and inventory.calls == 1
    now[0] += 0.2
    assert shared.sets() == [{"id": "2"}] and inventory.calls == 2
    assert shared.remote == "sf:tree"           # everything else is the inventory's


class Params(dict):
    """What Starlette's QueryParams offers the filters: get, keys, getlist."""

    def getlist(self, key):
        return [self[key]] if key in self else []


@given(state=st.sampled_from(STATES), sort=st.sampled_from(SORTS), q=st.text(max_size=200))
def test_every_documented_filter_is_taken(state, sort, q):
    query = set_filters(Params(state=state, sort=sort, q=q))
    assert query["state"] == state and query["sort"] == sort and query.get("q", "") == q


@given(value=st.text(max_size=30).filter(lambda v: v not in STATES and v != ""))
def test_an_undocumented_state_is_refused_by_the_api(value):
    with pytest.raises(BadRequest):
        set_filters(Params(state=value))


def test_the_page_form_s_empty_values_mean_any_but_not_for_the_api():
    assert set_filters(Params(state="", sort="", library="", q=""), empty_is_all=True) == {}
    with pytest.raises(BadRequest):
        set_filters(Params(state=""))
    with pytest.raises(BadRequest):
        set_filters(Params(library="x" * 201))
