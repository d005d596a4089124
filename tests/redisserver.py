"""A real redis-server on a free loopback port, in a directory of its own.

`start()` runs it (again, on the same port and data directory after `stop()`, so a
test can take Redis away mid-batch and bring it back); `url` reaches it; with a
`password` it runs with requirepass and `env()` gives REX_FARM_PASSWORD.
"""

import os
import shutil
import socket
import subprocess
import time

from rex.pg.cluster import free_port


class RedisServer:
    def __init__(self, base, password=None):
        self.dir = str(base)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.password = password
        self.proc = None
        self.log = os.path.join(self.dir, "redis.log")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def env(self):
        """What a queuer or a worker needs besides the URL: the password, when there is one."""
        return {"REX_FARM_PASSWORD": self.password} if self.password else {}

    def start(self):
        argv = [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly", "yes", "--logfile", self.log,
                "--daemonize", "no"]
        if self.password:
            argv += ["--requirepass", self.password]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited {self.proc.returncode}: see {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password)
