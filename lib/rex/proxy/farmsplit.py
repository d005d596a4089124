"""A long clip on the farm: chunk jobs for any worker, then one join job for the proxy.

A clip longer than farm.chunk_over (and of a steady frame rate) is cut into
frame-exact chunks of at most farm.chunk_length (media.chunks). Each chunk is a
job of its own, so idle workers take them side by side; the join job depends on
all of them (RQ `depends_on`, failures allowed, so it always runs), carries the
proxy's job id (the job the queuer waits for, joins and cancels), and returns the
same result as a whole encode. The join removes the chunk files whether it
succeeds or fails; a chunk whose join is gone (the queuer cancelled it) encodes
nothing, or throws its file away.
"""

import contextlib
import os
import time

from .. import errors
from ..media import chunks as cuts

JOIN_WAIT = 10.0      # seconds a chunk waits for its join job to appear (it is queued right after)
ACTIVE = ("queued", "started", "scheduled", "deferred")    # a job still to end (farmpool imports this module)


def chunk_id(job_id, index):
    """The RQ job id of chunk `index` of the proxy whose job id is `job_id`."""
    return f"{job_id}-chunk{index:05d}"


def plan_of(spec, over=cuts.CHUNK_OVER, length=cuts.CHUNK_LENGTH):
    """The chunks of the clip `spec` describes when it is to be split, else None."""
    from ..media.probe import rate

    fps = rate(spec.get("rate")) if spec.get("rate") else None
    if over is None or not cuts.splittable(spec.get("frames"), fps, spec.get("duration"), over):
        return None
    plan = cuts.plan(spec["frames"], fps, length or cuts.CHUNK_LENGTH)
    return plan if len(plan) > 1 else None


def enqueue(queue, spec, options, over=cuts.CHUNK_OVER, length=cuts.CHUNK_LENGTH):
    """Queue `spec` as chunk jobs plus a join job (with options["job_id"]) when its clip is
    long enough; False (nothing queued) when it is to be encoded whole.

    `options` are the whole job's enqueue options (job_id, timeout, TTLs, retry...);
    each chunk gets them with its own id and a timeout sized for its frames.
    """
    from rq.job import Dependency, Job

    from . import farmconn, farmspec

    plan = plan_of(spec, over, length)
    if plan is None:
        return False
    join_id = options["job_id"]
    ids = [chunk_id(join_id, chunk.index) for chunk in plan]
    queued = []
    try:
        for chunk, cid in zip(plan, ids):
            with contextlib.suppress(Exception):      # a chunk job of an earlier run: reuse it if it is still to run
                earlier = Job.fetch(cid, connection=queue.connection, serializer=farmconn.SERIALIZER)
                if earlier.get_status() in ACTIVE:
                    continue
                earlier.delete()
            queued.append(queue.enqueue_call(
                "rex.proxy.farmsplit.encode_chunk", kwargs={"spec": spec, "chunk": chunk.as_json()},
                **dict(options, job_id=cid, timeout=farmspec.job_timeout(dict(spec, frames=chunk.frames)),
                       description=f"chunk {chunk.index + 1} of {len(plan)} of {spec['source']}")))
        join = {k: v for k, v in options.items() if k != "unique"}     # RQ: no unique with depends_on
        join["description"] = f"proxy of {spec['source']} (joining {len(plan)} chunks)"
        queue.enqueue_call("rex.proxy.farmsplit.join_chunks",
                           kwargs={"spec": spec, "chunks": [c.as_json() for c in plan], "chunk_ids": ids},
                           depends_on=Dependency(jobs=ids, allow_failure=True), **join)
    except BaseException:      # Ctrl-C or Redis lost half-way: no chunk job without its join
        for rq_chunk in queued:
            with contextlib.suppress(Exception):
                rq_chunk.cancel()
                rq_chunk.delete()
        raise
    return True


def cancel_chunks(rq_job):
    """Cancel the chunk jobs still waiting for a worker when the queuer cancels their join
    (`rq_job`; nothing for a whole encode's job). Running chunks finish and throw their
    file away, as their join is gone."""
    from rq.job import Job

    from . import farmconn

    ids = (rq_job.kwargs or {}).get("chunk_ids") or ()
    for rq_chunk in Job.fetch_many(list(ids), connection=rq_job.connection, serializer=farmconn.SERIALIZER):
        if rq_chunk is not None and rq_chunk.get_status() in ("queued", "scheduled", "deferred"):
            with contextlib.suppress(Exception):
                rq_chunk.cancel()
                rq_chunk.delete()


# ---------------------------------------------------------- on the worker

def encode_chunk(spec, chunk):
    """Encode one chunk (a Chunk as JSON) of the proxy `spec` describes; a farmtask result dict."""
    from ..media import chunked
    from . import farmtask

    chunk = cuts.Chunk(**chunk)
    join_id = _join_id()
    if join_id and not _join_exists(join_id, wait=True):
        return _cancelled(spec, chunk)

    def run(encoder, job):
        result = encoder.run(job, lambda job: chunked.encode_chunk(encoder, job, chunk))
        if join_id and not _join_exists(join_id):       # cancelled meanwhile: nobody will join it
            with contextlib.suppress(OSError):
                os.unlink(cuts.chunk_path(job.proxy, chunk))
            with contextlib.suppress(OSError):
                os.rmdir(cuts.chunk_dir(job.proxy))
        return result

    return farmtask.encode(spec, run=run)


def join_chunks(spec, chunks, chunk_ids=()):
    """Join the chunks (Chunks as JSON) of the proxy `spec` describes into it; a farmtask result
    dict like a whole encode's. Why a chunk failed comes from its job's result."""
    from ..media import chunked
    from . import farmtask

    plan = [cuts.Chunk(**c) for c in chunks]
    failures = _failures(chunk_ids)
    try:
        return farmtask.encode(spec, run=lambda encoder, job: encoder.run(
            job, lambda job: chunked.join(encoder, job, plan, failures)))
    finally:      # also when the join failed before it began (the source gone, the folder unwritable)
        chunked.remove_chunks(farmtask.context().paths.to_worker(spec["target"]))


def _join_id():
    """The id of the join job of the chunk job running here (None outside a worker)."""
    from rq import get_current_job

    job = get_current_job()
    if job is None or "-chunk" not in job.id:
        return None
    return job.id.rsplit("-chunk", 1)[0]


def _join_exists(join_id, wait=False):
    """True when the join job is there (or Redis cannot say). With `wait`, a chunk queued
    less than JOIN_WAIT s ago waits that long for it: the join is queued just after it."""
    from datetime import datetime, timezone

    from rq import get_current_job
    from rq.job import Job

    current = get_current_job()
    deadline = time.time()
    if wait and current.enqueued_at is not None:
        queued = current.enqueued_at
        queued = queued if queued.tzinfo else queued.replace(tzinfo=timezone.utc)
        deadline = min(queued.timestamp(), datetime.now(timezone.utc).timestamp()) + JOIN_WAIT
    while True:
        try:
            if current.connection.exists(Job.key_for(join_id)):
                return True
        except Exception:
            return True
        if time.time() >= deadline:
            return False
        time.sleep(0.2)


def _cancelled(spec, chunk):
    return {"source": spec["source"], "target": spec["target"], "preset": spec.get("preset"), "ok": False,
            "code": errors.TEMPFAIL, "message": f"chunk {chunk.index + 1}: its proxy's job was cancelled"}


def _failures(chunk_ids):
    """{chunk index: why its job failed} from the chunk jobs' results."""
    from rq import get_current_job
    from rq.job import Job

    from . import farmconn

    current = get_current_job()
    if current is None or not chunk_ids:
        return {}
    found = {}
    jobs = Job.fetch_many(list(chunk_ids), connection=current.connection, serializer=farmconn.SERIALIZER)
    for index, rq_job in enumerate(jobs):
        if rq_job is None:
            found[index] = "its job is gone"
            continue
        status = rq_job.get_status()
        if status == "finished":
            value = rq_job.return_value()
            if isinstance(value, dict) and not value.get("ok"):
                found[index] = value.get("message")
        elif status == "failed":
            latest = rq_job.latest_result()
            lines = (latest.exc_string or "").strip().splitlines() if latest is not None else []
            found[index] = lines[-1] if lines else "failed"
        else:
            found[index] = status
    return found
