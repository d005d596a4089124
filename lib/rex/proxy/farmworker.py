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

from .. import __version__, log
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
        self.lost_from = None       # the worker this one replaces after Redis was lost (take_back)

    def register_birth(self):
        super().register_birth()
        self.connection.hset(self.key, mapping={"rex_key": self.rex_key, "rex_version": __version__})
        if self.lost_from:
            self.take_back(self.lost_from)

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

    def abandon(self):
        """After the work loop died (Redis lost): wait for a running encode to end; this
        worker's name, for its successor's take_back."""
        if self.horse_pid:
            try:
                os.waitpid(self.horse_pid, 0)
            except ChildProcessError:
                pass
        return self.name

    def take_back(self, old_name):
        """The jobs a previous incarnation of this worker held when it lost Redis (started, or
        still in the queue's intermediate list): queued again at the head, at once, rather than
        after their heartbeat expires and RQ's cleanup finds them. (A proxy its encode finished
        meanwhile is found valid and kept.)"""
        from rq.executions import Execution
        from rq.job import Job

        for queue in self.queues:
            registry = queue.started_job_registry
            for job_id, execution_id in registry.get_job_and_execution_ids():
                try:
                    execution = Execution.fetch(execution_id, job_id, self.connection)
                    job = Job.fetch(job_id, connection=self.connection, serializer=self.serializer)
                except Exception:
                    continue
                if execution.worker_name != old_name:
                    continue
                log.warning(f"worker {self.name}: job {job_id} was left by {old_name}: queued again")
                with self.connection.pipeline() as pipe:
                    pipe.lrem(queue.intermediate_queue_key, 1, job_id)
                    pipe.zrem(registry.key, execution.composite_key)
                    pipe.execute()
                queue.enqueue_job(job, at_front=True)

    def handle_job_success(self, job, queue, *args, **kwargs):
        super().handle_job_success(job, queue, *args, **kwargs)
        self._tell(job)

    def handle_job_failure(self, job, queue, *args, **kwargs):
        super().handle_job_failure(job, queue, *args, **kwargs)
        if not self.is_horse:       # the horse was killed or stopped: its .part is litter
            spec = spec_of(job)
            if spec:
                from .farmtask import remove_leftover

                remove_leftover(spec)
        self._tell(job)

    def _tell(self, job):
        try:
            farmconn.notify(self.connection, job.id)
        except Exception as exc:     # the queuer's periodic check finds the job anyway
            log.warning(f"worker {self.name}: cannot tell the queuers job {job.id} ended: {exc}")

