"""The RQ worker of the proxy farm: it takes only jobs of its own version key.

Queue names carry the key already; the worker also checks the key each job
carries, so a worker pointed at another version's queue by hand puts the job back
untouched (at the head of the queue), serves that queue no more, and shows as
"mismatched" in `proxy-worker --status` (Proxima #263). It tells the queuers
waiting for a job the moment it ends (farmconn.notify), so they need not poll.
"""

import os
import socket
import time
import uuid

from rq import Worker

from .. import __version__, errors, log
from . import farmconn, farmkey

MISMATCHED = "mismatched"


def spec_of(job):
    """The spec dict a farm job carries (its `spec` keyword or first argument), or None."""
    try:
        if isinstance(job.kwargs.get("spec"), dict):
            return job.kwargs["spec"]
        if job.args and isinstance(job.args[0], dict):
            return job.args[0]
    except Exception:       # a job this worker cannot even read is not its own
        return None
    return None


class FarmWorker(Worker):
    """An RQ Worker that checks each job's version key before it forks for it."""

    def __init__(self, queues, *args, key=None, **kwargs):
        # host.pid, and a suffix: a worker started again after Redis came back is a new one.
        kwargs.setdefault("name", f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:4]}")
        kwargs.setdefault("serializer", farmconn.SERIALIZER)
        super().__init__(queues, *args, **kwargs)
        self.rex_key = key or farmkey.version_key()
        self.refused = []           # the queues it stopped serving, each for a job of another key

    def register_birth(self):
        super().register_birth()
        self.connection.hset(self.key, mapping={"rex_key": self.rex_key, "rex_version": __version__})

    def execute_job(self, job, queue):
        spec = spec_of(job)
        theirs = spec.get("key") if spec else None
        if theirs != self.rex_key:
            self._refuse(job, queue, theirs)
            return
        super().execute_job(job, queue)

    def _refuse(self, job, queue, theirs):
        """Put `job` back at the head of its queue untouched and stop serving that queue."""
        with self.connection.pipeline() as pipe:
            pipe.lrem(queue.intermediate_queue_key, 1, job.id)
            pipe.lpush(queue.key, job.id)
            pipe.execute()
        self.queues = [q for q in self.queues if q.name != queue.name]
        self._ordered_queues = [q for q in self._ordered_queues if q.name != queue.name]
        self.refused.append(queue.name)
        self.set_state(MISMATCHED)
        log.error(f"worker {self.name}: job {job.id} on {queue.name} has key {theirs or 'none'}, this worker "
                  f"{self.rex_key}: put back; this worker serves {queue.name} no more")

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        if self.queues:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        # Every queue refused: stay visible (and mismatched) until stopped, taking nothing.
        self.set_state(MISMATCHED)
        while timeout is not None and not self._stop_requested:
            self.heartbeat()
            time.sleep(min(5, self.worker_ttl / 3))
        return None

    def handle_job_success(self, job, queue, *args, **kwargs):
        super().handle_job_success(job, queue, *args, **kwargs)
        self._tell(job)

    def handle_job_failure(self, job, queue, *args, **kwargs):
        super().handle_job_failure(job, queue, *args, **kwargs)
        self._tell(job)

    def _tell(self, job):
        try:
            farmconn.notify(self.connection, job.id)
        except Exception as exc:     # the queuer's periodic check finds the job anyway
            log.warning(f"worker {self.name}: cannot tell the queuers job {job.id} ended: {exc}")


def worker_main(url, n=None, burst=False, queue=None, password=None, config=None, maintenance_interval=30,
                job_monitoring_interval=10, worker_ttl=60):
    """Run N FarmWorkers (default one per core) on `queue` (default this version's) until
    stopped, or until the queue is empty with `burst`. The exit status: 0, or 75 when Redis
    cannot be reached. (A minimal runner; proxy-worker's service runner builds on it.)"""
    import multiprocessing

    import redis

    from . import farmtask

    farmconn.connect(url, password)      # 75 now, not in every child
    farmtask.context(config)             # loaded once, inherited by every worker and horse
    n = n or os.cpu_count() or 1
    name = queue or farmkey.queue_name()

    def one():
        while True:
            try:
                conn = farmconn.connect(url, password)
            except errors.TempFail as exc:      # Redis away: wait for it, as RQ's own loop does
                log.warning(exc.message)
                time.sleep(2)
                continue
            worker = FarmWorker([name], connection=conn, maintenance_interval=maintenance_interval,
                                job_monitoring_interval=job_monitoring_interval, worker_ttl=worker_ttl)
            try:
                worker.work(burst=burst, logging_level="WARNING", with_scheduler=True)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                log.warning(f"worker {worker.name}: lost Redis at {farmconn.where(url)}: {exc}")
            if worker.refused:
                return errors.CONFIG
            if burst or worker._stop_requested or worker._shutdown_requested_date:
                return errors.OK
            log.warning(f"worker {worker.name} stopped (Redis lost?); starting again")
            time.sleep(1)

    if n == 1:
        return one()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=lambda: os._exit(one())) for _ in range(n)]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        for p in procs:
            p.join()
    return max((p.exitcode or 0) for p in procs)
