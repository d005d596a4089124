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


# --- the exit-code precedence -------------------------------------------------------------

from rex import errors  # noqa: E402

CODES = [errors.OK, errors.PARTIAL, *errors.MEANINGS, 130]
runs = st.lists(st.sampled_from(CODES), max_size=12)


def _verify_before(codes):
    """rex-verify's rule as it was written inline: 65 if anything corrupt, else 66 if
    anything missing, else the usual order."""
    if errors.DATAERR in codes:
        return errors.DATAERR
    if errors.NOINPUT in codes:
        return errors.NOINPUT
    return errors.worst(codes) if any(c != errors.OK for c in codes) else errors.OK


def _export_before(codes):
    """rex-export's rule as it was written inline: 75 before anything else."""
    return errors.worst(codes) if errors.TEMPFAIL not in codes else errors.TEMPFAIL


@given(runs)
def test_worst_is_ok_only_when_every_record_succeeded_and_is_else_a_failure_of_the_run(codes):
    code = errors.worst(codes)
    if all(c == errors.OK for c in codes):
        assert code == errors.OK
    else:
        assert code != errors.OK
        assert code in codes or code == errors.PARTIAL      # never a failure no record had


@given(runs, st.permutations(errors.ORDER))
def test_worst_is_the_first_code_of_the_order_given_that_the_run_holds(codes, order):
    code = errors.worst(codes, order=tuple(order))
    named = [c for c in order if c in codes]
    assert code == (named[0] if named else errors.PARTIAL if set(codes) - {errors.OK} else errors.OK)
    assert errors.worst(codes, order=tuple(order)) == errors.worst(list(reversed(codes)), order=tuple(order))


@given(runs)
def test_the_orders_of_verify_and_export_are_the_rules_they_wrote_inline(codes):
    assert errors.worst(codes, order=(errors.DATAERR, errors.NOINPUT, *errors.ORDER)) == _verify_before(codes)
    assert errors.worst(codes, order=(errors.TEMPFAIL, *errors.ORDER)) == _export_before(codes)


def test_worst_ranks_run_wide_conditions_above_data_errors_above_partial():
    assert errors.worst([errors.PARTIAL, errors.DATAERR, errors.IOERR]) == errors.IOERR
    assert errors.worst([errors.PARTIAL, errors.DATAERR]) == errors.DATAERR
    assert errors.worst([errors.OK, errors.USAGE]) == errors.PARTIAL       # a code no order names
    assert errors.worst([errors.IOERR, errors.DATAERR], order=(errors.DATAERR, *errors.ORDER)) == errors.DATAERR
    assert errors.worst([]) == errors.OK
