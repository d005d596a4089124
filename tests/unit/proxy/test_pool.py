"""proxy.pool: the local encode pool's scheduling, with a stand-in for the Encoder.

The Encoder itself (ffmpeg, .part files, SIGTERM mid-encode) is tested for real in
tests/end_to_end/test_proxy_encode.py; here each job waits for the test to release it,
so the order in which jobs end is the test's choice and nothing depends on timing.
"""

import os
import signal
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex.proxy import pool
from rex.proxy.pool import LocalPool, Terminated, sizes


class Gated:
    """An encoder whose run(job) returns job once the test releases it; stop() releases all."""

    def __init__(self):
        self.gates = {}
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.stopped = False

    def gate(self, job):
        with self.lock:
            return self.gates.setdefault(job, threading.Event())

    def release(self, job):
        self.gate(job).set()

    def run(self, job):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            assert self.gate(job).wait(10), f"{job} never released"
            return job
        finally:
            with self.lock:
                self.running -= 1

    def stop(self):
        self.stopped = True
        with self.lock:
            gates = list(self.gates.values())
        for gate in gates:
            gate.set()


def _finished_until(local, count, timeout=10):
    got, deadline = [], time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += local.finished(timeout=0.5)
    return got


def test_results_come_in_the_order_the_jobs_end():
    encoder = Gated()
    local = LocalPool(encoder, slots=2)
    for job in "abc":
        local.submit(job)
    assert local.busy and local.finished() == []
    for job in "cab":
        encoder.release(job)
        assert _finished_until(local, 1) == [job]
    assert not local.busy
    local.close()


def test_a_pool_holds_twice_its_slots():
    encoder = Gated()
    local = LocalPool(encoder, slots=2)
    for n in range(4):
        assert not local.full
        local.submit(n)
    assert local.full
    encoder.release(0)
    assert _finished_until(local, 1) == [0] and not local.full
    encoder.stop()
    local.close()


def test_run_finishes_every_job_never_holding_more_than_the_pool_takes():
    encoder = Gated()
    finished = []

    def jobs():
        for n in range(7):
            encoder.release(n)
            yield n

    pool.run(LocalPool(encoder, slots=1), jobs(), finished.append)
    assert sorted(finished) == list(range(7)) and encoder.most <= 2 and not encoder.stopped


def test_a_quiet_input_reports_what_has_finished_meanwhile():
    encoder = Gated()
    finished, seen = [], []

    def jobs():
        encoder.release("a")
        yield "a"
        deadline = time.monotonic() + 10
        while not finished and time.monotonic() < deadline:
            yield None                  # stdin is quiet
            time.sleep(0.01)
        seen.append(list(finished))     # before the input goes on, or ends
        encoder.release("b")
        yield "b"

    pool.run(LocalPool(encoder, slots=4), jobs(), finished.append)
    assert seen == [["a"]] and finished == ["a", "b"]


def test_ctrl_c_cancels_the_pool_and_propagates():
    encoder = Gated()

    def jobs():
        yield "running"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pool.run(LocalPool(encoder, slots=2), jobs(), lambda result: None)
    assert encoder.stopped and encoder.running == 0


def test_sigterm_is_ctrl_c_within_run_and_the_handler_is_restored():
    encoder = Gated()
    before = signal.getsignal(signal.SIGTERM)

    def jobs():
        yield "running"
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)                   # the handler raises Terminated meanwhile
        yield "never"

    with pytest.raises(Terminated):
        pool.run(LocalPool(encoder, slots=2), jobs(), lambda result: None)
    assert encoder.stopped and encoder.running == 0
    assert signal.getsignal(signal.SIGTERM) == before


@given(st.integers(0, 64), st.integers(0, 64), st.integers(1, 128))
def test_sizes_default_to_one_encode_per_core_sharing_the_cores(jobs, threads, cores):
    workers, per_job = sizes(jobs or None, threads or None, cores)
    assert workers == (jobs or cores) and per_job >= 1
    if threads:
        assert per_job == threads
    else:
        assert workers * per_job <= max(cores, workers)
