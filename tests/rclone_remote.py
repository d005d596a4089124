"""A real rclone remote on loopback: `rclone serve webdav` (no hashes: the download
check) or `rclone serve sftp` (md5 emulated: the remote-hash path), serving a
temporary directory on a free port, and an rclone.conf that reaches it."""

import os
import socket
import subprocess
import time

from rex.checksum import md5_file, write_sidecar
from rex.fsutil import write_atomic
from rex.pg.cluster import free_port


def put(root, rel, content):
    """A backup at `rel` under `root` with its sidecar, to be uploaded."""
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, content)
    write_sidecar(path, md5_file(path))
    return path


class Remote:
    """One `rclone serve` process; `name` is the remote's section in `conf`."""

    def __init__(self, kind, base, password=None):
        self.kind = kind
        self.name = {"webdav": "wd", "sftp": "sf"}[kind]
        self.base = str(base)
        self.dir = os.path.join(self.base, "served")
        self.conf = os.path.join(self.base, "rclone.conf")
        self.home = os.path.join(self.base, "home")
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(self.home, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.password = password      # sftp: required of clients (None: any client may log in)
        self.client_password = password or "not-a-real-secret"

    def env(self):
        return dict(os.environ, HOME=self.home, RCLONE_CONFIG=self.conf)

    def start(self):
        # No directory cache, no file cache, no polling: a test that changes the served files behind
        # the server's back (a byte flipped in place, size and time kept) sees them as they are.
        argv = ["rclone", "serve", self.kind, "--addr", f"127.0.0.1:{self.port}", "--dir-cache-time", "1ms",
                "--vfs-cache-mode", "off", "--poll-interval", "0", self.dir]
        if self.kind == "sftp":
            argv[3:3] = ["--user", "rex", "--pass", self.password] if self.password else ["--no-auth"]
        self.log = open(os.path.join(self.base, f"serve-{self.kind}.log"), "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     env=self.env())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rclone serve {self.kind} exited {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"rclone serve {self.kind} did not listen on {self.port}")
        self._write_conf()
        return self

    def _write_conf(self):
        if self.kind == "webdav":
            lines = ["type = webdav", f"url = http://127.0.0.1:{self.port}"]
        else:
            password = subprocess.run(["rclone", "obscure", self.client_password], stdout=subprocess.PIPE,
                                      check=True, env=self.env()).stdout.decode().strip()
            lines = ["type = sftp", "host = 127.0.0.1", f"port = {self.port}", "user = rex", f"pass = {password}"]
        with open(self.conf, "w") as f:
            f.write(f"[{self.name}]\n" + "\n".join(lines) + "\n")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.log.close()

    def path(self, *parts):
        """The local file that holds the remote object at `parts` under the served directory."""
        return os.path.join(self.dir, *parts)
