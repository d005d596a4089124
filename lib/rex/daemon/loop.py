"""rexd's main loop: sleep until the next due run, start it, notice its end, report.

It sleeps in select() on a self-pipe that every signal writes to (signal.set_wakeup_fd)
and on the stderr of the running jobs, until the next due moment, at most MAX_SLEEP
seconds (so a wall clock set forward, or a host that slept, is noticed within a
minute) and at most the watchdog interval. Nothing polls: an idle rexd wakes once a
minute. Signals are only noted in their handlers and acted on in the loop:
SIGTERM/SIGINT stop (running jobs get daemon.stop_timeout, then their groups are
terminated; a second signal cuts the wait short), SIGHUP reloads the configuration (a
bad one keeps the schedule in force and says why), SIGCHLD wakes the loop to reap.
As PID 1 in a container it also reaps every orphan that the kernel hands it.
"""

import os
import select
import signal
import time
from datetime import datetime, timezone

from .. import errors, log
from ..monitor.event import make, new_run_id
from . import jobs as joblist, state
from .plan import Plan
from .process import Run
from .reporter import Reporter

MAX_SLEEP = 60.0
KILL_WAIT = 10.0            # after SIGTERM to a job's group, before SIGKILL
REPORT_WAIT = 30.0          # at exit, for the reports still queued
HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)


def now_utc():
    return datetime.now(timezone.utc)


class Daemon:
    def __init__(self, load_config, notifier, state_file=None):
        self._load = load_config
        self.notifier = notifier
        self.state_file = state_file or state.path()
        self.runs = {}              # name -> Run
        self.reporter = Reporter()
        self.signals = []
        self.stopping = False
        self._hurry = False         # a second stop signal: no more waiting for the runs
        self._last_ping = 0.0
        self._status = None

    # --- life -----------------------------------------------------------------------------

    def serve(self):
        """Run until told to stop; the exit status (0 after SIGTERM/SIGINT). One rexd per
        state directory: a second one exits 75."""
        self.config = self._load()
        lock = held("rexd")
        if lock is None:
            raise errors.TempFail(f"another rexd runs with the state directory {os.path.dirname(self.state_file)}")
        with lock:
            return self._serve()

    def _serve(self):
        self.jobs = joblist.load(self.config)
        self._wake_r, wake_w = os.pipe()
        for fd in (self._wake_r, wake_w):
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        for signum in HANDLED:
            signal.signal(signum, self._note)
        now = now_utc()
        self.plan = Plan(self.jobs, state.load(self.state_file), now)
        state.save(self.state_file, self.plan.seen())
        if not self.jobs:
            log.warning("no jobs in daemon.jobs: waiting for a configuration that has some (SIGHUP)")
        for name in self.plan.catch_up:
            log.notice(f"{name}: a run was missed while rexd was down; running it now")
            self._start(name)
        self.notifier.ready(self._status_text())
        log.info(f"ready: {len(self.jobs)} jobs")
        while not self.stopping:
            self._tick()
        return self._shutdown()

    def _tick(self):
        self._act_on_signals()
        if self.stopping:
            return
        self._reap()
        now = now_utc()
        started, skipped = self.plan.due(now, set(self.runs))
        for name in skipped:
            log.notice(f"{name}: skipped: the run started {self.runs[name].seconds():.0f} s ago still goes")
        for name in started:
            self._start(name)
        if started or skipped:
            state.save(self.state_file, self.plan.seen())
        self._tell_systemd()
        self._wait(self._sleep_for(now))

    def _sleep_for(self, now):
        wake = self.plan.next_wake()
        seconds = MAX_SLEEP if wake is None else min(MAX_SLEEP, max(0.0, (wake - now).total_seconds()))
        interval = self.notifier.watchdog_interval
        return min(seconds, interval) if interval else seconds

    def _wait(self, timeout):
        """Sleep until `timeout`, a signal, or output of a running job; pass that output on."""
        fds = [self._wake_r] + [r.fileno() for r in self.runs.values() if r.fileno() is not None]
        try:
            ready = select.select(fds, [], [], timeout)[0]
        except InterruptedError:
            ready = []
        by_fd = {r.fileno(): r for r in self.runs.values() if r.fileno() is not None}
        for fd in ready:
            if fd == self._wake_r:
                _drain(fd)
            elif fd in by_fd:
                by_fd[fd].read()

    # --- signals --------------------------------------------------------------------------

    def _note(self, signum, _frame):
        self.signals.append(signum)

    def _act_on_signals(self):
        while self.signals:
            signum = self.signals.pop(0)
            if signum in (signal.SIGTERM, signal.SIGINT):
                if self.stopping:
                    self._hurry = True
                self.stopping = True
                log.notice(f"stopping ({signal.Signals(signum).name})")
            elif signum == signal.SIGHUP and not self.stopping:
                self._reload()

    def _reload(self):
        try:
            config = self._load()
        except errors.RexError as exc:
            log.error(f"reload refused, the schedule in force stays: {exc.message}")
            return
        self.config, self.jobs = config, joblist.load(config)
        self.plan.reload(self.jobs, now_utc())
        state.save(self.state_file, self.plan.seen())
        log.notice(f"reloaded: {len(self.jobs)} jobs")

    # --- runs -----------------------------------------------------------------------------

    def _start(self, name, after=None):
        if name in self.runs:
            log.notice(f"{name}: skipped: still running")
            return
        lock = held(lock_name(name))
        if lock is None:
            log.notice(f"{name}: skipped: a run started by rexd --run still goes")
            return
        job = self.plan.entries[name].job
        run_id = new_run_id()
        self.reporter.send(self.config, make(name, "start", run_id=run_id))
        try:
            self.runs[name] = Run(name, job["run"], self.config.get("report.tail_lines"), run_id)
        except OSError as exc:
            lock.close()
            message = f"cannot start bash: {exc.strerror or exc}"
            log.error(f"{name}: {message}")
            self.reporter.send(self.config, make(name, "failure", exit_status=126, log_tail=message, run_id=run_id))
            return
        self.runs[name].lock = lock
        log.notice(f"{name}: started" + (f" (after {after})" if after else "") + f", pid {self.runs[name].pid}")

    def _reap(self):
        for name, run in list(self.runs.items()):
            if run.finish_if_ended():
                del self.runs[name]
                self._finished(run)
        if os.getpid() == 1:
            self._reap_orphans()

    def _reap_orphans(self):
        """PID 1: every child the kernel hands us is waited for (a job's own is settled)."""
        by_pid = {r.pid: r for r in self.runs.values()}
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run = by_pid.get(pid)
            if run is not None:
                run.settle(status)
                del self.runs[run.name]
                self._finished(run)

    def _finished(self, run):
        run.lock.close()
        took = f"{run.seconds():.1f} s"
        if run.status == 0:
            log.notice(f"{run.name}: succeeded in {took}")
            self.reporter.send(self.config, make(run.name, "success", run_id=run.run_id))
            if not self.stopping:
                for follower in self.plan.followers(run.name):
                    self._start(follower, after=run.name)
            return
        reason = f"stopped by rexd ({signal.Signals(run.stopped_by).name})" if run.stopped_by else None
        log.error(f"{run.name}: failed (exit {run.status}) after {took}" + (f", {reason}" if reason else ""))
        self.reporter.send(self.config, make(run.name, "failure", exit_status=run.status, reason=reason,
                                             log_tail=run.tail_text(), run_id=run.run_id))

    # --- systemd --------------------------------------------------------------------------

    def _status_text(self):
        running = ", ".join(sorted(self.runs))
        upcoming = self.plan.next_job()
        text = "next: " + (f"{upcoming[0]} at {upcoming[1].strftime('%Y-%m-%d %H:%M:%S UTC')}" if upcoming
                           else "none")
        return text + (f"; running: {running}" if running else "")

    def _tell_systemd(self):
        if not self.notifier.enabled:
            return
        text = self._status_text()
        if text != self._status:
            self.notifier.status(text)
            self._status = text
        if self.notifier.watchdog_interval and time.monotonic() - self._last_ping >= self.notifier.watchdog_interval / 2:
            self.notifier.watchdog()
            self._last_ping = time.monotonic()

    # --- the end --------------------------------------------------------------------------

    def _shutdown(self):
        waiting = ", ".join(sorted(self.runs))
        self.notifier.stopping(f"stopping; waiting for {waiting}" if waiting else "stopping")
        deadline = time.monotonic() + self.config.get("daemon.stop_timeout")
        if self.runs:
            log.notice(f"waiting up to {self.config.get('daemon.stop_timeout'):g} s for {waiting}")
        self._wait_for_runs(deadline)
        for signum, wait in ((signal.SIGTERM, KILL_WAIT), (signal.SIGKILL, KILL_WAIT)):
            if not self.runs:
                break
            for run in self.runs.values():
                log.warning(f"{run.name}: still running; sending {signal.Signals(signum).name} to its processes")
                run.stopped_by = run.stopped_by or signum
                run.signal(signum)
            self._wait_for_runs(time.monotonic() + wait, hurry=False)
        state.save(self.state_file, self.plan.seen())
        if not self.reporter.close(REPORT_WAIT):
            log.warning("some reports were not sent before the end")
        log.notice("stopped")
        return errors.OK

    def _wait_for_runs(self, deadline, hurry=True):
        while self.runs and time.monotonic() < deadline and not (hurry and self._hurry):
            self._wait(min(1.0, max(0.0, deadline - time.monotonic())))
            self._reap()
            if any(s in (signal.SIGTERM, signal.SIGINT) for s in self.signals):
                self.signals = [s for s in self.signals if s not in (signal.SIGTERM, signal.SIGINT)]
                self._hurry = True
                log.notice("told again: not waiting any longer")
            self.signals = [s for s in self.signals if s != signal.SIGCHLD]


def held(name):
    """The flock `name` (fsutil.job_lock), taken now, as an ExitStack to close when done;
    None while another process holds it."""
    import contextlib

    from ..fsutil import job_lock

    stack = contextlib.ExitStack()
    try:
        stack.enter_context(job_lock(name, wait=0))
    except errors.TempFail:
        return None
    return stack


def lock_name(job):
    """The lock a run of `job` holds, in rexd and in rexd --run alike."""
    return f"rexd-{job}"


def _drain(fd):
    try:
        while os.read(fd, 4096):
            pass
    except (BlockingIOError, OSError):
        pass
