"""rex.errors: one way to name the subject of an error, so no message says `P: P: ...`."""

import errno

from hypothesis import given
from hypothesis import strategies as st

from rex.errors import DataError, about, describe, from_oserror

texts = st.text(min_size=1).filter(lambda t: ": " not in t)


@given(texts, st.text())
def test_about_names_the_subject_once_however_often_it_is_applied(subject, detail):
    once = about(subject, detail)
    assert once == f"{subject}: {detail}"
    assert about(subject, once) == once
    assert about(subject, about(subject, once)) == once


def test_about_keeps_a_detail_that_merely_mentions_the_subject():
    assert about("/a", "copy of /a failed") == "/a: copy of /a failed"


def test_describe_leaves_out_the_file_name_an_oserror_adds():
    exc = FileNotFoundError(errno.ENOENT, "No such file or directory", "/srv/x.drp")
    assert "/srv/x.drp" in str(exc)
    assert describe(exc) == "No such file or directory"
    assert from_oserror(exc, "cannot read /srv/x.drp").message == "cannot read /srv/x.drp: No such file or directory"
    assert describe(DataError("/p: bad")) == "/p: bad"
    assert describe(ValueError("odd")) == "odd"
