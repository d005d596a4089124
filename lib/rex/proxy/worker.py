"""proxy-worker as a service: N farm worker processes kept running, and systemd told how they do.

The main process connects to Redis (75 naming host:port when it cannot), starts N
worker processes (one per core by default), starts again any that dies, and from its
main loop tells systemd READY, what each worker encodes (STATUS), that it lives
(WATCHDOG) and, on SIGTERM, STOPPING. It also looks for abandoned jobs every
MAINTENANCE_INTERVAL, whether or not its workers are busy.

A lost worker must not strand its job (RQ's defaults leave it ~11 minutes): each busy
worker renews its job's lease every MONITOR_INTERVAL for LEASE_GRACE more seconds, so
the job of a worker that died is seen abandoned within a lease (30 s) plus one
maintenance pass, and put back at the front of the queue at once (requeue_abandoned),
where another worker takes it. An encode ("work horse") dies with its worker
(PR_SET_PDEATHSIG, else a watcher thread), and its ffmpeg with it (runner.popen).

Stopping: the first SIGTERM lets every encode finish (RQ's warm shutdown), a second,
at least a second later, stops them; each horse then removes its .part (the encode's
own cleanup) and its job goes back to the front of the queue, no retry spent.
On macOS workers and horses are spawned, never forked (fork after the Objective-C
runtime is loaded can abort the child).
"""

import os
import signal
import sys
import threading
import time
from datetime import timedelta

from rq.utils import now as rq_now
from rq.worker import SpawnWorker

from .. import errors, log
from .farmworker import FarmWorker

MONITOR_INTERVAL = 10       # s: a busy worker renews its job's lease this often
LEASE_GRACE = 20            # s: a lease outlives its renewal by this much (RQ: 60)
MAINTENANCE_INTERVAL = 10   # s: abandoned jobs looked for this often (RQ: 600)
WORKER_TTL = MAINTENANCE_INTERVAL + 15    # RQ blocks on the queue for WORKER_TTL - 15 s at most
STATUS_INTERVAL = 2         # s: STATUS= refreshed from the workers' job meta
COLD_WAIT = 15              # s: a stopped encode gets this long to clean up before SIGKILL
RESTART_DELAYS = (1, 2, 5, 10, 30)   # s: before starting a dead worker process again
COLD_EXIT = 128 + signal.SIGTERM
LOCK = "rex-proxy:requeue-lock:"     # + queue name: one requeue pass at a time, farm-wide
# macOS; REX_WORKER_SPAWN=1 takes the same way elsewhere (the tests check it on Linux).
FORK_UNSAFE = sys.platform == "darwin" or os.environ.get("REX_WORKER_SPAWN") == "1"


class ColdStop(BaseException):
    """Raised in an encode's process by the second SIGTERM: unwind (ffmpeg killed, .part
    removed by the encode's own cleanup) and leave the job to the worker to requeue."""


def serve(config, url, password, n=None, burst=False, config_file=None, verbosity=0):
    """Run the workers until stopped (or, with `burst`, until the queue is empty): the exit status."""
    from . import farmconn, farmkey, farmtask

    conn = farmconn.connect(url, password)
    # The main loop pings the watchdog: a Redis that stops answering must not hang it.
    conn.connection_pool.connection_kwargs["socket_timeout"] = 5
    farmtask.context(config)       # ffmpeg found (69 otherwise) before any worker starts
    n = n or os.cpu_count() or 1
    settings = {"url": url, "password": password, "queue": farmkey.queue_name(), "burst": burst,
                "config_file": config_file, "verbosity": verbosity}
    return Supervisor(conn, n, settings).run()


# --------------------------------------------------------------- the main process

class Supervisor:
    """Keeps N worker processes running and tells systemd about them."""

    def __init__(self, conn, n, settings):
        from ..servicenotify import ServiceNotifier

        self.conn, self.n, self.settings = conn, n, settings
        self.notifier = ServiceNotifier()
        self.procs = {}              # slot -> multiprocessing.Process
        self.restarts = {}           # slot -> (attempts, not before)
        self.signals = []            # monotonic times of SIGTERM/SIGINT received
        self.forwarded = 0           # how many of them the workers were sent
        self.last_forward = 0.0
        self.status_text = None
        self._ctx = _mp_context()
        self._scheduler = None
        self._next_lock_try = 0.0

    def run(self):
        from . import farmconn

        self._install_signals()
        for slot in range(self.n):
            self._start(slot)
        where = farmconn.where(self.settings["url"])
        self.notifier.ready(f"{self.n} workers on {where}, idle")
        log.info(f"{self.n} worker{'s' if self.n != 1 else ''} on {where}, queue {self.settings['queue']}")
        _rq_logs_to_stderr(self.settings["verbosity"])
        ticks = {"status": 0.0, "maintenance": 0.0, "watchdog": 0.0, "schedule": 0.0}
        watchdog = self.notifier.watchdog_interval
        while True:
            now = time.monotonic()
            self._forward_signals(now)
            self._reap(now)
            if not self.procs and (self.signals or (self.settings["burst"] and not self.restarts)):
                break
            if watchdog and now - ticks["watchdog"] >= watchdog:
                self.notifier.watchdog()
                ticks["watchdog"] = now
            if now - ticks["status"] >= STATUS_INTERVAL:
                self._report_status()
                ticks["status"] = now
            if not self.signals and now - ticks["maintenance"] >= MAINTENANCE_INTERVAL:
                self._maintain()
                ticks["maintenance"] = now
            if not self.signals and now - ticks["schedule"] >= 1:
                self._schedule(now)
                ticks["schedule"] = now
            time.sleep(0.2)
        self._stop_scheduling()
        return COLD_EXIT if self.forwarded > 1 else errors.OK

    # ----------------------------------------------------------- processes

    def _start(self, slot):
        proc = self._ctx.Process(target=worker_process, args=(self.settings, os.getpid()),
                                 name=f"proxy-worker-{slot}")
        proc.start()
        self.procs[slot] = proc
        log.debug(f"worker process {slot} started, pid {proc.pid}")

    def _reap(self, now):
        for slot, proc in list(self.procs.items()):
            if proc.is_alive():
                continue
            proc.join()
            del self.procs[slot]
            code = proc.exitcode
            if self.signals or (self.settings["burst"] and code == 0):
                self.restarts.pop(slot, None)    # done: not to be started again
                continue
            attempts, _ = self.restarts.get(slot, (0, 0))
            delay = RESTART_DELAYS[min(attempts, len(RESTART_DELAYS) - 1)]
            reason = f"signal {-code}" if code is not None and code < 0 else f"exit {code}"
            log.warning(f"worker process {proc.pid} ended ({reason}): starting another in {delay} s")
            self.restarts[slot] = (attempts + 1, now + delay)
        for slot, (attempts, not_before) in list(self.restarts.items()):
            if slot not in self.procs and not self.signals and now >= not_before:
                self._start(slot)
            elif slot in self.procs and now - not_before > 300:
                del self.restarts[slot]          # it has run 5 minutes: forget its failures

    # ------------------------------------------------------------- signals

    def _install_signals(self):
        def received(signum, frame):
            self.signals.append(time.monotonic())

        signal.signal(signal.SIGTERM, received)
        signal.signal(signal.SIGINT, received)

    def _forward_signals(self, now):
        """First signal: warm stop of every worker. A later one: cold stop, sent at least a
        second after the first (RQ ignores a second signal within a second, as a duplicate)."""
        if len(self.signals) <= self.forwarded or self.forwarded >= 2:
            return
        if self.forwarded == 1 and now - self.last_forward < 1.1:
            return
        self.forwarded += 1
        self.last_forward = now
        busy = self.status_text if self.status_text and self.status_text != "idle" else "idle"
        if self.forwarded == 1:
            self.notifier.stopping(f"stopping: finishing {busy}" if busy != "idle" else "stopping")
            log.info("stopping: the running encodes finish first (SIGTERM again to stop them)")
        else:
            self.notifier.status("stopping: putting the running jobs back on the queue")
            log.info("stopping the running encodes; their jobs go back on the queue")
        for proc in self.procs.values():
            if proc.pid:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    # --------------------------------------------------------- Redis side

    def _report_status(self):
        text = self._status_text()
        if text is not None and text != self.status_text:
            self.status_text = text
            self.notifier.status(text if not self.signals else f"stopping: {text}")

    def _status_text(self):
        from . import farmconn

        pids = {proc.pid for proc in self.procs.values()}
        try:
            mine = [w for w in farmconn.workers(self.conn) if w["pid"] in pids
                    and (w["host"] or "") == _hostname()]
        except Exception as exc:        # Redis away: say so, keep pinging the watchdog
            return f"waiting for Redis at {farmconn.where(self.settings['url'])}: {_reason(exc)}"
        return status_line(mine)

    def _schedule(self, now):
        """Retry intervals: due jobs moved to the queue, by this main process while it holds the
        queue's scheduler lock (one host at a time; another takes over a minute after it dies).
        Not in the worker processes, as RQ does it: its scheduler process, forked from a worker,
        would outlive a killed worker holding the worker's Redis sockets, and Redis would hand
        the next job to the dead worker's pending BLPOP."""
        from rq.scheduler import RQScheduler

        from . import farmconn

        try:
            if self._scheduler is None:
                self._scheduler = RQScheduler([self.settings["queue"]], connection=self.conn,
                                              serializer=farmconn.SERIALIZER, logging_level="WARNING")
            scheduler = self._scheduler
            if scheduler.acquired_locks:
                scheduler.heartbeat()
            elif now >= self._next_lock_try:
                self._next_lock_try = now + MAINTENANCE_INTERVAL
                scheduler.acquire_locks()
            if scheduler.acquired_locks:
                scheduler.enqueue_scheduled_jobs()
        except Exception as exc:
            log.debug(f"scheduling skipped: {_reason(exc)}")

    def _stop_scheduling(self):
        if self._scheduler is not None and self._scheduler.acquired_locks:
            try:
                self._scheduler.release_locks()
            except Exception as exc:
                log.debug(f"scheduler lock not released: {_reason(exc)}")

    def _maintain(self):
        """Queue again the jobs of workers whose lease ran out (any host's), now rather than
        when one of this host's workers is next idle."""
        from rq import Queue
        from rq.registry import clean_registries

        from . import farmconn

        try:
            queue = Queue(self.settings["queue"], connection=self.conn, serializer=farmconn.SERIALIZER)
            requeue_abandoned(queue)
            if queue.acquire_maintenance_lock():
                try:
                    clean_registries(queue)
                finally:
                    queue.release_maintenance_lock()
        except Exception as exc:
            log.debug(f"maintenance skipped: {_reason(exc)}")


def requeue_abandoned(queue):
    """The jobs of workers that died (their lease ran out) back at the front of the queue, now:
    the ids. RQ would schedule them after the job's retry interval, and a scheduler lost with
    the dead host is replaced only after a minute. A retry is still spent, so a job that kills
    every worker it lands on ends; one without retries left is left to RQ, which fails it."""
    from rq.exceptions import NoSuchJobError
    from rq.job import JobStatus
    from rq.utils import current_timestamp

    conn, registry = queue.connection, queue.started_job_registry
    if not conn.set(LOCK + queue.name, os.getpid(), nx=True, ex=MAINTENANCE_INTERVAL):
        return []           # another worker or host is at it
    put_back = []
    try:
        for member in conn.zrangebyscore(registry.key, 0, current_timestamp()):
            job_id = registry.parse_job_id(member)
            try:
                job = queue.job_class.fetch(job_id, connection=conn, serializer=queue.serializer)
            except NoSuchJobError:
                continue
            if job.get_status(refresh=False) != JobStatus.STARTED or not job.retries_left:
                continue
            conn.zrem(registry.key, member)
            job.retries_left -= 1
            queue.enqueue_job(job, at_front=True)
            put_back.append(job.id)
            log.warning(f"job {job.id} ({job.description}): its worker stopped answering; queued again")
    finally:
        conn.delete(LOCK + queue.name)
    return put_back


def status_line(workers):
    """systemd's STATUS= for this host's workers: 'idle', or 'encoding A001.mov 42%, ...'."""
    busy = []
    for w in workers:
        if not w.get("job"):
            continue
        progress = w.get("progress") or {}
        name = os.path.basename(progress.get("source") or "") or w["job"]
        frames = progress.get("frames")
        if frames:
            busy.append(f"{name} {min(100, 100 * (progress.get('frame') or 0) // frames)}%")
        else:
            busy.append(name)
    mismatched = sum(1 for w in workers if w.get("state") == "mismatched")
    text = "encoding " + ", ".join(busy) if busy else "idle"
    if mismatched:
        text += f" ({mismatched} refused jobs of another version)"
    return text


# --------------------------------------------------------------- a worker process

def worker_process(settings, parent):
    """One worker process: an RQ worker on the farm's queue until it is told to stop."""
    import redis

    from . import farmconn, farmtask

    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the main process decides; it forwards SIGTERM
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    log.setup("proxy-worker", settings["verbosity"])
    _die_with(parent, signal.SIGTERM)               # main process gone: warm stop
    try:
        conn = farmconn.connect(settings["url"], settings["password"])
        if FORK_UNSAFE:                              # spawned: nothing inherited
            from ..config import load

            farmtask.context(load(settings["config_file"], {}))
        level = _rq_logs_to_stderr(settings["verbosity"])
        lost = None     # after Redis came back: the name whose jobs this process takes back at once
        while True:
            worker = worker_class()([settings["queue"]], connection=conn, maintenance_interval=MAINTENANCE_INTERVAL,
                                    job_monitoring_interval=MONITOR_INTERVAL, worker_ttl=WORKER_TTL)
            worker.lost_from, lost = lost, None
            try:
                worker.work(burst=settings["burst"], logging_level=level, with_scheduler=False)   # see _schedule
                break
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                log.warning(f"worker {worker.name}: lost Redis: {exc}; waiting for it")
                lost = worker.abandon()
                conn = _reconnect(settings)
    except errors.RexError as exc:
        log.error(exc.message)
        sys.exit(exc.code)
    except SystemExit:
        raise
    sys.exit(0)


def _reconnect(settings):
    """A connection to Redis once it answers again (as RQ's own loop waits for it)."""
    from . import farmconn

    while True:
        time.sleep(2)
        try:
            return farmconn.connect(settings["url"], settings["password"])
        except errors.TempFail:
            continue


def worker_class():
    """The RQ worker class: ServiceWorker, spawning its horses where fork is unsafe."""
    return SpawnServiceWorker if FORK_UNSAFE else ServiceWorker


class ServiceWorker(FarmWorker):
    """A FarmWorker with short leases, encodes that die with it, and a cold stop that
    puts the job back."""

    def __init__(self, queues, name=None, *args, **kwargs):
        # RQ's find_by_key (how a spawned horse finds its worker) gives the name positionally;
        # FarmWorker sets a default name by keyword.
        if name is not None:
            kwargs["name"] = name
        super().__init__(queues, *args, **kwargs)

    def get_heartbeat_ttl(self, job, working_time=0.0):
        if job.timeout and job.timeout > 0:
            remaining = max(0, job.timeout - working_time)    # past its timeout: a grace still
            return int(min(remaining, self.job_monitoring_interval)) + LEASE_GRACE
        return self.job_monitoring_interval + LEASE_GRACE

    def clean_registries(self):
        for queue in self.queues:
            try:
                requeue_abandoned(queue)
            except Exception as exc:     # Redis away: RQ's own pass below says so
                log.debug(f"worker {self.name}: requeue pass skipped: {_reason(exc)}")
        super().clean_registries()

    # -- signals of the worker process: SIGTERM only (the main process forwards it)
    def _install_signal_handlers(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self.request_stop)

    def request_stop(self, signum, frame):
        self._shutdown_requested_date = rq_now()
        signal.signal(signal.SIGTERM, self.request_force_stop)
        self.handle_warm_shutdown_request()
        self._shutdown()

    def request_force_stop(self, signum, frame):
        if getattr(self, "_cold", False) or rq_now() - self._shutdown_requested_date < timedelta(seconds=1):
            return
        self._cold = True
        if self.horse_pid:
            execution = self.execution
            self._stop_horse()
            if execution is not None:
                self._put_back(execution)
        raise SystemExit(COLD_EXIT)

    def _stop_horse(self):
        """SIGTERM to the encode (it unwinds: ffmpeg killed, .part removed), SIGKILL after COLD_WAIT."""
        pid = self.horse_pid
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + COLD_WAIT
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            time.sleep(0.05)
        self.kill_horse(signal.SIGKILL)
        self.wait_for_horse()

    def _put_back(self, execution):
        """The stopped job at the front of its queue again, as if never taken (no retry spent)."""
        try:
            job = self.job_class.fetch(execution.job_id, connection=self.connection, serializer=self.serializer)
            queue = self.queue_class(job.origin, connection=self.connection, job_class=self.job_class,
                                     serializer=self.serializer)
            with self.connection.pipeline() as pipe:
                self.cleanup_execution(job, pipeline=pipe, execution=execution)
                pipe.execute()
            queue.enqueue_job(job, at_front=True)
            log.info(f"worker {self.name}: job {job.id} stopped and put back on {queue.name}")
        except Exception as exc:     # its lease runs out and it is retried anyway
            log.warning(f"worker {self.name}: cannot put job {execution.job_id} back ({_reason(exc)}); "
                        f"it runs again once its lease expires")

    # -- the work horse: the process of one encode
    def setup_work_horse_signals(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _cold_stop)
        _die_with(self.pid or os.getppid(), signal.SIGTERM)    # its worker gone: the encode unwinds

    def _finalize_failure(self, job, queue, execution, exc_info):
        if exc_info[0] is ColdStop:
            os._exit(COLD_EXIT)      # the worker puts the job back; RQ records nothing
        return super()._finalize_failure(job, queue, execution, exc_info)


class SpawnServiceWorker(ServiceWorker, SpawnWorker):
    """macOS: horses started with posix_spawn, never forked."""


def _rq_logs_to_stderr(verbosity):
    """RQ's messages as the suite's own (stderr, one line, journal priority; stdout is for
    records): the level RQ is to log at, from -v."""
    import logging
    import re

    ansi = re.compile(r"\x1b\[[0-9;]*m")

    class ToRexLog(logging.Handler):
        def emit(self, record):
            text = ansi.sub("", record.getMessage())
            if record.levelno >= logging.ERROR:
                log.error(text)
            elif record.levelno >= logging.WARNING:
                log.warning(text)
            elif record.levelno >= logging.INFO:
                log.info(text)
            else:
                log.debug(text)

    for name in ("rq", "rq.worker", "rq.job", "rq.scheduler"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [ToRexLog()] if name == "rq" else []
        logger.propagate = name != "rq"
    return "DEBUG" if verbosity > 1 else "INFO" if verbosity > 0 else "WARNING"


def _cold_stop(signum, frame):
    raise ColdStop()


def _die_with(parent, sig):
    """Have this process receive `sig` when `parent` dies: PR_SET_PDEATHSIG on Linux, else a
    thread that watches getppid()."""
    from ..runner import _prctl

    prctl = _prctl()
    if prctl is not None:
        PR_SET_PDEATHSIG = 1
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:          # it died before the call
            os.kill(os.getpid(), sig)
        return

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), sig)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _mp_context():
    import multiprocessing

    return multiprocessing.get_context("spawn" if FORK_UNSAFE else "fork")


def _hostname():
    import socket

    return socket.gethostname()


def _reason(exc):
    text = str(exc).split(". ")[0] or type(exc).__name__
    return "connection failed" if "@" in text else text
