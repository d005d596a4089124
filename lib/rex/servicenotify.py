"""Telling systemd how a long-running Rex service is doing (`Type=notify`), through sdnotify.

proxy-worker, rex-web and rexd are services; systemd learns from them when they are
ready, what they are doing (`systemctl status`), that they are alive (the watchdog) and
that they are stopping. Without `$NOTIFY_SOCKET` (a terminal, launchd, a container)
every call does nothing, so a service calls them unconditionally. sdnotify is imported
only when there is a socket to talk to.
"""

import os


class ServiceNotifier:
    """READY/STATUS/WATCHDOG/STOPPING for this process, or nothing outside systemd."""

    def __init__(self):
        environ = os.environ   # sdnotify reads $NOTIFY_SOCKET from here too
        self.socket = environ.get("NOTIFY_SOCKET") or None
        self._watchdog_usec = _watchdog_usec(environ)
        self._notifier = None

    @property
    def enabled(self):
        return self.socket is not None

    @property
    def watchdog_interval(self):
        """Seconds between WATCHDOG=1 pings (half of WatchdogSec=), or None without a watchdog."""
        return self._watchdog_usec / 2e6 if self._watchdog_usec else None

    def ready(self, status=None):
        self._send("READY=1", status)

    def status(self, text):
        self._send(None, text)

    def watchdog(self):
        self._send("WATCHDOG=1")

    def stopping(self, status=None):
        self._send("STOPPING=1", status)

    def _send(self, state, status=None):
        if not self.socket:
            return
        if self._notifier is None:
            import sdnotify

            self._notifier = sdnotify.SystemdNotifier()
        lines = [line for line in (state, status and "STATUS=" + _one_line(status)) if line]
        # sdnotify encodes as Latin-1; systemd reads UTF-8: hand it the UTF-8 bytes as Latin-1.
        self._notifier.notify("\n".join(lines).encode().decode("latin-1"))


def _one_line(text):
    return " ".join(str(text).split())


def _watchdog_usec(environ):
    """WATCHDOG_USEC when it is meant for this process (WATCHDOG_PID absent or ours)."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    return usec if usec > 0 else None
