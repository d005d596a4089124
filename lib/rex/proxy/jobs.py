"""From input records to encode Jobs, each proxy made once and never shared by two sources.

The input is read on a feeder thread (`parallel.prefetch`) so the encodes that end
while stdin is quiet are reported at once; a malformed record is passed along the
stream in its place, so the main thread reports it beside the encodes.
"""

import os

from .. import errors, log


def with_problems(read):
    """(record, None) per input record and (None, DataError) per malformed one, in input order.

    `read(on_error)` yields the records and calls on_error for a malformed one, then
    goes on; the problem is yielded here instead of reported on the reader's thread.
    """
    problems = []
    for record in read(problems.append):
        while problems:
            yield None, problems.pop(0)
        yield record, None
    while problems:
        yield None, problems.pop(0)


def encode_jobs(items, place, preset, height, on_problem):
    """A Job per (record, problem) item whose proxy is free; None per IDLE (the input is quiet).

    `place(source)` is the proxy's path (RexError when there is none); on_problem(code,
    message) hears a malformed record, a source without a place, and a source whose
    proxy is already another source's. A source given twice is encoded once.
    """
    from ..media.encode import Job
    from ..parallel import IDLE

    claimed = {}        # proxy path -> source
    for item in items:
        if item is IDLE:
            yield None
            continue
        record, problem = item
        if problem is not None:
            on_problem(problem.code, problem.message)
            continue
        source = os.path.abspath(record["path"])
        try:
            proxy = place(source)
        except errors.RexError as exc:
            on_problem(exc.code, exc.message)
            continue
        other = claimed.get(proxy)
        if other is None:
            claimed[proxy] = source
            yield Job(record["path"], proxy, dict(record), preset, height)
        elif other == source:
            log.info(f"{record['path']}: given again; encoded once")
        else:
            on_problem(errors.CANTCREAT, f"{record['path']}: its proxy {proxy} is already the proxy of {other}")
