"""Work on several records at once while keeping the record order of a pipeline."""


def ordered_map(func, items, workers):
    """func(item) for each item on `workers` threads, yielded in input order as soon as ready.

    A feeder thread reads the input, so a result is passed on when it is done, not
    when the next input line arrives (an upstream rex-pgdump may take an hour).
    """
    import queue
    import threading
    from concurrent.futures import ThreadPoolExecutor

    if workers <= 1:
        yield from map(func, items)
        return
    ready = queue.Queue()
    slots = threading.Semaphore(2 * workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        def feed():
            try:
                for item in items:
                    slots.acquire()
                    ready.put(pool.submit(func, item))
            except BaseException as exc:   # a malformed record: re-raised in order
                ready.put(exc)
            ready.put(None)

        threading.Thread(target=feed, daemon=True).start()
        while True:
            future = ready.get()
            if future is None:
                return
            if isinstance(future, BaseException):
                raise future
            try:
                yield future.result()
            finally:
                slots.release()


IDLE = object()


def prefetch(items, idle=0.5):
    """Yield items read by a feeder thread, and IDLE whenever none came for `idle` seconds.

    A consumer that also waits on other work (encodes finishing) can then do that
    work while the input is quiet, instead of blocking on the next line of stdin.
    An exception raised by the input is re-raised here, in order.
    """
    import queue
    import threading

    ready = queue.Queue(maxsize=64)
    end = object()

    def feed():
        try:
            for item in items:
                ready.put((item, None))
        except BaseException as exc:
            ready.put((None, exc))
        ready.put((end, None))

    threading.Thread(target=feed, daemon=True).start()
    while True:
        try:
            item, problem = ready.get(timeout=idle)
        except queue.Empty:
            yield IDLE
            continue
        if problem is not None:
            raise problem
        if item is end:
            return
        yield item
