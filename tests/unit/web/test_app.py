"""Pieces of rex-web's app that decide on their own (web/app.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex.web.app import BadRequest, set_filters
from rex.web.openapi import SORTS, STATES


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
