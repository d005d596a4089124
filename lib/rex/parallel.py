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
