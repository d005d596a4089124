"""rexd's reports, sent off the scheduling loop: each event goes to the job's monitors
through rex.monitor.report (as rex-report sends it), in order, from one thread, so a
monitor that hangs for report.timeout never delays the start of another job."""

import queue
import threading

from .. import log


class Reporter:
    def __init__(self):
        self._queue = queue.Queue()
        self._thread = None

    def send(self, config, event):
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="rexd-reports", daemon=True)
            self._thread.start()
        self._queue.put((config, event))

    def close(self, timeout):
        """Send what is queued, waiting at most `timeout` seconds; False if some was left."""
        if self._thread is None:
            return True
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _work(self):
        from ..monitor import report

        while True:
            item = self._queue.get()
            if item is None:
                return
            config, event = item
            try:
                report.send(config, event)
            except Exception as exc:        # a report never takes the daemon down
                log.warning(f"{event.job}: could not report the {event.kind}: {exc}")
