"""A real systemd notify socket for tests: a datagram socket the test binds, whose
path goes into $NOTIFY_SOCKET of the service under test, collecting what it sends."""

import os
import socket
import tempfile
import time


class NotifySocket:
    def __init__(self, directory=None):
        # AF_UNIX paths are limited to ~108 bytes: pytest's tmp_path can be longer.
        self._dir = tempfile.mkdtemp(prefix="rex-notify-", dir=directory or "/tmp")
        self.path = os.path.join(self._dir, "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self.messages = []

    def env(self, **extra):
        return {"NOTIFY_SOCKET": self.path, **extra}

    def receive(self, timeout=0.1):
        """Every datagram arriving within `timeout` s, each as a dict of its KEY=VALUE lines."""
        self._sock.settimeout(timeout)
        got = []
        try:
            while True:
                data = self._sock.recv(65536).decode()
                got.append(dict(line.split("=", 1) for line in data.splitlines() if "=" in line))
                self._sock.settimeout(0.01)
        except (socket.timeout, BlockingIOError):
            pass
        self.messages.extend(got)
        return got

    def wait_for(self, key, value=None, timeout=30):
        """The first message (already received or arriving within `timeout` s) that has `key`
        (equal to `value` if given); AssertionError naming what did arrive otherwise."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for message in self.messages[seen:]:
                if key in message and (value is None or message[key] == value):
                    return message
            seen = len(self.messages)
            if time.monotonic() > deadline:
                raise AssertionError(f"no {key}={value or '*'} on the notify socket; got {self.messages}")
            self.receive(0.2)

    def close(self):
        self._sock.close()
        for name in (self.path,):
            try:
                os.unlink(name)
            except FileNotFoundError:
                pass
        os.rmdir(self._dir)
