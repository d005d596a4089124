"""Proxy encodes on the farm, behind the LocalPool interface (proxy/pool.py).

`submit` probes the source here (a valid existing proxy is kept before anything is
queued), then queues one RQ job per proxy, keyed by its target path: a second
queuer of the same proxy joins the job already there. Workers tell this queuer's
inbox when a job ends, so `finished` blocks on it (BLPOP) and looks at every job's
status only once a second, for what ended without a word (a lost worker, Redis
restarted). With no worker of this version for `wait` seconds it falls back to the
local pool, or stops with 75. `cancel` cancels the queued jobs no other queuer waits
for; running ones finish, or are stopped (farm.on_cancel).
"""

import collections
import os
import socket
import time
import uuid

from .. import errors, log
from ..durations import format_duration
from ..media.encode import EncodeResult
from . import farmconn, farmkey, farmspec

SWEEP = 1.0                 # seconds between two looks at every outstanding job's status
WORKER_CHECK = 5.0          # seconds between two counts of the listening workers
RESULT_TTL = 24 * 3600      # a finished job's result: long enough for a queuer that was away
FAILURE_TTL = 7 * 24 * 3600
RETRY = (3, [10, 30, 60])   # lost worker, killed horse: run again elsewhere, with backoff
LIMIT = 10000               # jobs outstanding at once before submit waits
ACTIVE = ("queued", "started", "scheduled", "deferred")


class Facts(dict):
    """A proxy's facts as the worker reported them (JSON), with as_json like probe.Facts."""

    def as_json(self):
        return dict(self)


class NoWorker(errors.TempFail):
    """No worker of this version has listened for the whole wait."""


class FarmPool:
    """Jobs on the farm's queue for this version; see the module's docstring."""

    def __init__(self, conn, url, encoder, display=None, key=None, wait=180, fallback=None, on_cancel="finish",
                 result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL):
        from rq import Queue

        self.conn, self.url, self.encoder, self.display = conn, url, encoder, display
        self.key = key or farmkey.version_key()
        self.queue = Queue(farmkey.queue_name(self.key), connection=conn, serializer=farmconn.SERIALIZER)
        self.inbox = f"{farmconn.INBOX}{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self.wait, self.fallback, self.on_cancel = wait, fallback, on_cancel
        self.result_ttl, self.failure_ttl = result_ttl, failure_ttl
        self._ready = collections.deque()     # EncodeResults known here: kept proxies, unreadable sources
        self._jobs = {}                       # job id -> (media Job, spec)
        self._started = set()                 # job ids seen running
        self._local = None                    # the LocalPool after a fallback
        self._last_sweep = 0.0
        self._last_workers = 0.0
        self._no_worker_since = None
        self._down_since = None
        self._meta_at = 0.0
        self._fps = {}

    # ------------------------------------------------------------ the interface

    @property
    def full(self):
        return len(self._jobs) >= LIMIT

    @property
    def busy(self):
        return bool(self._ready or self._jobs or (self._local is not None and self._local.busy))

    def submit(self, job):
        if self._local is not None:
            self._local.submit(job)
            return
        try:
            src, plan, kept = self.encoder.inspect(job)
        except errors.RexError as exc:
            self._ready.append(EncodeResult(job.source, job.proxy, exc.code, exc.message))
            return
        if kept is not None:
            self._ready.append(kept)
            return
        spec = farmspec.make(job, src, plan, self.key)
        self._redis(lambda: self._enqueue(job, spec))
        if self.display is not None:
            self.display.add(job.source, src.frames)
        self._check_workers()

    def finished(self, timeout=0):
        results = []
        while self._ready:
            results.append(self._ready.popleft())
        if self._jobs:
            wait = 0 if results else min(timeout, SWEEP)
            results += self._redis(lambda: self._collect(wait), default=[])
            self._check_workers()
        if self._local is not None:
            results += self._local.finished(0 if results or self._jobs else timeout)
        return results

    def cancel(self):
        """Cancel the queued jobs no other queuer waits for; stop the running ones when
        on_cancel is "stop"; the local fallback stops its encodes."""
        from rq.command import send_stop_job_command
        from rq.job import Job

        try:
            for job_id in list(self._jobs):
                self.conn.srem(farmconn.LISTEN + job_id, self.inbox)
                if self.conn.scard(farmconn.LISTEN + job_id):
                    continue
                try:
                    rq_job = Job.fetch(job_id, connection=self.conn, serializer=farmconn.SERIALIZER)
                except Exception:
                    continue
                status = rq_job.get_status()
                if status in ("queued", "scheduled", "deferred"):
                    rq_job.cancel()
                    rq_job.delete()
                    log.info(f"{self._jobs[job_id][0].source}: cancelled on the farm")
                elif status == "started" and self.on_cancel == "stop":
                    try:
                        send_stop_job_command(self.conn, job_id, serializer=farmconn.SERIALIZER)
                    except Exception as exc:
                        log.warning(f"{self._jobs[job_id][0].source}: cannot stop it on the farm: {exc}")
            self.conn.delete(self.inbox)
        except Exception as exc:      # Redis gone too: the jobs expire or run; say so
            log.warning(f"cannot cancel the farm's jobs on {farmconn.where(self.url)}: {exc}")
        self._jobs.clear()
        if self._local is not None:
            self._local.cancel()

    def close(self):
        try:
            self.conn.delete(self.inbox)
        except Exception:
            pass
        if self._local is not None:
            self._local.close()

    # ---------------------------------------------------------------- details

    def _enqueue(self, job, spec):
        """Queue the spec, or join the job already queued or running for the same proxy."""
        from rq import Retry
        from rq.exceptions import DuplicateJobError, NoSuchJobError
        from rq.job import Job

        job_id = farmspec.job_id(spec["target"])
        listen = farmconn.LISTEN + job_id
        with self.conn.pipeline() as pipe:        # listen first: an end is never missed
            pipe.sadd(listen, self.inbox)
            pipe.expire(listen, farmspec.job_timeout(spec) * (RETRY[0] + 1) + self.result_ttl)
            pipe.execute()
        self._jobs[job_id] = (job, spec)
        try:
            existing = Job.fetch(job_id, connection=self.conn, serializer=farmconn.SERIALIZER)
        except NoSuchJobError:
            existing = None
        if existing is not None:
            if existing.get_status() in ACTIVE:
                log.info(f"{job.source}: joins the farm job already queued for {job.proxy}")
                return
            existing.delete()
        try:
            self.queue.enqueue_call("rex.proxy.farmtask.encode", kwargs={"spec": spec}, job_id=job_id, unique=True,
                                    timeout=farmspec.job_timeout(spec), result_ttl=self.result_ttl,
                                    failure_ttl=self.failure_ttl, retry=Retry(max=RETRY[0], interval=RETRY[1]),
                                    description=f"proxy of {spec['source']}")
        except DuplicateJobError:
            log.info(f"{job.source}: joins the farm job another queuer just queued for {job.proxy}")

    def _collect(self, wait):
        """The EncodeResults of the jobs that ended: those the inbox names, and at each sweep
        every one whose status says so."""
        ended = set()
        if wait > 0:
            got = self.conn.blpop([self.inbox], timeout=wait)
            if got:
                ended.add(got[1].decode())
        more = self.conn.lpop(self.inbox, 1000) or []
        ended.update(m.decode() for m in more)
        self._down_since = None
        now = time.monotonic()
        check = [j for j in ended if j in self._jobs]
        if now - self._last_sweep >= SWEEP:
            self._last_sweep = now
            check = list(self._jobs)
        if not check:
            return []
        from rq.job import Job

        with self.conn.pipeline(transaction=False) as pipe:
            for job_id in check:
                pipe.hget(Job.key_for(job_id), "status")
            statuses = [s.decode() if s else None for s in pipe.execute()]
        results = []
        for job_id, status in zip(check, statuses):
            if status is None:
                self._requeue_lost(job_id)
            elif status == "started":
                self._started.add(job_id)
            elif status not in ACTIVE:
                results.append(self._result(job_id, status))
        self._progress()
        return results

    def _requeue_lost(self, job_id):
        """A job whose record is gone (Redis lost its data): queue it again."""
        job, spec = self._jobs.pop(job_id)
        log.warning(f"{job.source}: the farm lost its job; queuing it again")
        self._enqueue(job, spec)

    def _result(self, job_id, status):
        from rq.job import Job

        job, spec = self._jobs.pop(job_id)
        self._started.discard(job_id)
        self._fps.pop(job_id, None)
        self.conn.srem(farmconn.LISTEN + job_id, self.inbox)
        rq_job = Job.fetch(job_id, connection=self.conn, serializer=farmconn.SERIALIZER)
        if status == "finished":
            value = rq_job.return_value(refresh=True)
            if not isinstance(value, dict):
                return EncodeResult(job.source, job.proxy, errors.TEMPFAIL, "the farm kept no result for it")
            if not value.get("ok"):
                return EncodeResult(job.source, job.proxy, value.get("code") or errors.PARTIAL, value.get("message"))
            facts = Facts(value["facts"]) if value.get("facts") else None
            log.info(f"{job.source}: made by worker {value.get('worker')}")
            return EncodeResult(job.source, job.proxy, preset=value.get("preset"), skipped=bool(value.get("skipped")),
                                facts=facts, message=value.get("message") or "")
        if status == "failed":
            latest = rq_job.latest_result()
            text = (latest.exc_string or "").strip().splitlines() if latest is not None else []
            worker = getattr(latest, "worker_name", None) if latest is not None else None
            reason = text[-1] if text else "failed"
            return EncodeResult(job.source, job.proxy, errors.PARTIAL,
                                f"worker {worker or '?'}: {reason}" if worker else reason)
        return EncodeResult(job.source, job.proxy, errors.TEMPFAIL, f"{status} on the farm")

    def _progress(self):
        """Frames done and farm fps from the running jobs' meta, for the bar (a terminal only)."""
        if self.display is None or not self.display.enabled or not self._started:
            return
        now = time.monotonic()
        if now - self._meta_at < SWEEP:
            return
        self._meta_at = now
        from rq.job import Job

        ids = [j for j in self._started if j in self._jobs]
        for job_id, rq_job in zip(ids, Job.fetch_many(ids, connection=self.conn, serializer=farmconn.SERIALIZER)):
            meta = rq_job.meta if rq_job is not None else {}
            if "frame" in meta:
                self.display.update(self._jobs[job_id][0].source, meta["frame"])
                self._fps[job_id] = meta.get("fps") or 0
        self.display.suffix = f"  {sum(self._fps.values()):.0f} fps on the farm  {len(ids)} busy"

    def _check_workers(self):
        """Every WORKER_CHECK s while jobs wait: is a worker of this key listening? After `wait`
        s without one: the fallback, or NoWorker (75)."""
        now = time.monotonic()
        if not self._jobs or now - self._last_workers < WORKER_CHECK and self._last_workers:
            return
        self._last_workers = now
        listening = self._redis(self._listening, default=1)
        if listening:
            self._no_worker_since = None
            return
        if self._no_worker_since is None:
            self._no_worker_since = now
            log.notice(f"no worker is listening on {farmconn.where(self.url)} for {self.key} yet; "
                       f"waiting up to {format_duration(self.wait)}")
        if now - self._no_worker_since < self.wait:
            return
        message = f"no worker is listening on {farmconn.where(self.url)} for {self.key} after {format_duration(self.wait)}"
        if self.fallback is None:
            raise NoWorker(message)
        log.warning(message + ": encoding here")
        self._fall_back()

    def _listening(self):
        return sum(1 for w in farmconn.workers(self.conn, self.key)
                   if not w["mismatched"] and self.queue.name in w["queues"])

    def _fall_back(self):
        """Take back the queued jobs only this queuer waits for and encode them here."""
        from rq.job import Job

        self._local = self.fallback()
        for job_id, (job, _spec) in list(self._jobs.items()):
            self.conn.srem(farmconn.LISTEN + job_id, self.inbox)
            rq_job = Job.fetch(job_id, connection=self.conn, serializer=farmconn.SERIALIZER)
            if rq_job.get_status() == "queued" and not self.conn.scard(farmconn.LISTEN + job_id):
                rq_job.cancel()
                rq_job.delete()
                del self._jobs[job_id]
                self._local.submit(job)
            else:
                self.conn.sadd(farmconn.LISTEN + job_id, self.inbox)

    def _redis(self, call, default=None):
        """call(), riding out a Redis that went away for less than `wait` s; then 75 naming it."""
        import redis

        while True:
            try:
                result = call()
                self._down_since = None
                return result
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                now = time.monotonic()
                if self._down_since is None:
                    self._down_since = now
                    log.warning(f"lost Redis at {farmconn.where(self.url)}; trying again for "
                                f"{format_duration(self.wait)}")
                if now - self._down_since >= self.wait:
                    raise farmconn.unreachable(self.url, exc) from None
                time.sleep(1)
                if default is not None:
                    return default

