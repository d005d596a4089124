"""Where proxy encodes run: this machine's pool, behind an interface a farm can share.

A pool takes Jobs (`submit`), hands back their EncodeResults in the order they
end (`finished`), says when it holds all it can (`full`) or still has work
(`busy`), and on `cancel` kills what runs, leaving no `.part`. `run` drives any
such pool from a stream of jobs; it turns SIGTERM into Ctrl-C (`Terminated`) so
both cancel the pool the same way.
"""

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop the encodes and remove their .part files."""


def sizes(jobs, threads, cores):
    """(encodes at once, threads per encode): one encode per core and the cores shared
    among them, unless given (0 or None: the default)."""
    workers = jobs or cores
    return workers, threads or max(1, cores // workers)


class LocalPool:
    """Encoder.run on this machine's threads.

    Twice as many threads as encode slots (the Encoder holds `slots` ffmpegs at once):
    while those run, the other threads probe the next sources and check finished proxies.
    """

    def __init__(self, encoder, slots):
        import queue
        from concurrent.futures import ThreadPoolExecutor

        self.encoder = encoder
        self.capacity = 2 * max(1, slots)
        self._threads = ThreadPoolExecutor(max_workers=self.capacity)
        self._done = queue.Queue()        # futures, in the order they end
        self._outstanding = 0

    @property
    def full(self):
        return self._outstanding >= self.capacity

    @property
    def busy(self):
        return self._outstanding > 0

    def submit(self, job):
        self._outstanding += 1
        self._threads.submit(self.encoder.run, job).add_done_callback(self._done.put)

    def finished(self, timeout=0):
        """The results ready now, in the order they ended; waits up to `timeout` s for the first."""
        import queue

        results = []
        try:
            future = self._done.get(timeout=timeout) if timeout else self._done.get_nowait()
            while True:
                self._outstanding -= 1
                results.append(future.result())
                future = self._done.get_nowait()
        except queue.Empty:
            pass
        return results

    def cancel(self):
        """Kill the running encodes (no .part is left) and drop the queued ones."""
        self.encoder.stop()         # before the pool waits for its threads
        self._threads.shutdown(wait=True, cancel_futures=True)

    def close(self):
        self._threads.shutdown(wait=True, cancel_futures=True)


def run(pool, jobs, finish):
    """Submit each job to `pool` and call finish(result) in this thread as each ends.

    A None job means the input is quiet: what has finished meanwhile is reported then,
    not when the next line of stdin comes. Any exception, Ctrl-C and SIGTERM included,
    cancels the pool before it propagates.
    """
    with _sigterm_interrupts():
        try:
            for job in jobs:
                if job is None:
                    _report(pool.finished(0), finish)
                else:
                    pool.submit(job)
                while pool.full:
                    _report(pool.finished(0.5), finish)
            while pool.busy:
                _report(pool.finished(0.5), finish)
        except BaseException:
            pool.cancel()
            raise
        pool.close()


def _report(results, finish):
    for result in results:
        finish(result)


@contextlib.contextmanager
def _sigterm_interrupts():
    """Within: SIGTERM raises Terminated (only the main thread may set a handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
