"""rex-web as users run it, for tests: the real command in its own process, on a free
loopback port (`--listen 127.0.0.1:0`; the port it got is read from its stderr), asked
over real HTTP, stopped with SIGTERM."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from conftest import BIN


class WebServer:
    def __init__(self, env, *args, listen="127.0.0.1:0"):
        self.argv = [sys.executable, os.path.join(BIN, "rex-web"), "--listen", listen, *args]
        self.env = env
        self.proc = None
        self.url = None
        self.stderr_lines = []

    def start(self, timeout=60):
        self.proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        found = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.stderr_lines.append(line)
                match = re.search(r"listening on (http://\S+/)", line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(timeout) or self.url is None:
            self.stop()
            raise AssertionError(f"rex-web did not start: {self.stderr}")
        return self

    @property
    def stderr(self):
        return "".join(self.stderr_lines)

    def request(self, path, method="GET", body=None, headers=None, token=None, timeout=30):
        """(status, headers, body bytes) of one request; never raises on an HTTP error status."""
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path.lstrip("/"), data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, path, **kwargs):
        status, _headers, body = self.request(path, **kwargs)
        return status, json.loads(body)

    def stop(self, timeout=30):
        """SIGTERM, then the exit status (it must stop by itself within `timeout`)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("rex-web did not stop on SIGTERM") from None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        time.sleep(0)
