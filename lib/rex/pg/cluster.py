"""Throwaway PostgreSQL clusters (initdb + pg_ctl) on a free loopback port.

Used by `make demo`, by `rex-verify --deep` when no server is given, and by the
tests. initdb refuses to run as root, so as root the cluster runs as an
unprivileged user (REX_PG_OS_USER, else postgres, else nobody).
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from ..errors import TempFail, Unavailable
from .server import Server, conninfo_dbname

DEFAULT_PASSWORD = "DaVinci"   # Resolve's own default for its project server


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_bindir():
    """The directory holding initdb, pg_ctl and postgres (newest installed version)."""
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found and os.path.exists(os.path.join(os.path.dirname(os.path.realpath(found)), "postgres")):
            return os.path.dirname(os.path.realpath(found))
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    raise Unavailable("initdb: PostgreSQL server programs not found (install postgresql)")


def _os_user():
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("REX_PG_OS_USER"), "postgres", "nobody"):
        if name:
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
    raise Unavailable("no unprivileged user to run PostgreSQL as (set REX_PG_OS_USER)")


class Cluster:
    """A private cluster in its own directory; `with Cluster() as c:` starts and removes it."""

    def __init__(self, base=None, password=DEFAULT_PASSWORD, superuser="postgres", port=None):
        self.base = base
        self.password = password
        self.superuser = superuser
        self.port = port
        self.bindir = server_bindir()
        self.user = _os_user()
        if self.user is not None:
            base = None   # as root, a private directory (pytest's, say) may not be reachable by that user
        self.base = base
        self._owned_base = base is None
        self.running = False

    # --- paths ---
    @property
    def datadir(self):
        return os.path.join(self.base, "data")

    @property
    def sockdir(self):
        return os.path.join(self.base, "sock")

    @property
    def logfile(self):
        return os.path.join(self.base, "postgres.log")

    @property
    def passfile(self):
        return os.path.join(self.base, "pgpass")

    def server(self):
        return Server(host="127.0.0.1", port=self.port, user=self.superuser, passfile=self.passfile)

    def env(self):
        """libpq environment for clients of this cluster."""
        env = self.server().env()
        return {k: v for k, v in env.items() if v is not None}

    def _run(self, argv, **kwargs):
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.STDOUT)
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        env = dict(os.environ, LC_ALL="C", LANG="C")
        for var in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGPASSFILE"):
            env.pop(var, None)
        return _run_tied(argv, env=env, cwd="/", stdin=subprocess.DEVNULL, timeout=120, **kwargs)

    def create(self):
        if self.base is None:
            self.base = tempfile.mkdtemp(prefix="rex-pg-")
        os.makedirs(self.sockdir, exist_ok=True)
        pwfile = os.path.join(self.base, "initpw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        with open(self.passfile, "w") as f:
            f.write(f"*:*:*:{self.superuser}:{self.password}\n")
        os.chmod(self.passfile, 0o600)
        if self.user is not None:
            for path in (self.base, self.sockdir, pwfile):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
            os.chmod(self.base, 0o755)
        result = self._run([os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", self.superuser,
                            "--pwfile", pwfile, "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                            "-E", "UTF8", "--no-sync", "--locale=C"])
        os.unlink(pwfile)
        if result.returncode != 0:
            raise Unavailable("initdb failed: " + result.stdout.decode("utf-8", "replace")[-500:])
        return self

    def start(self):
        if self.port is None:
            self.port = free_port()
        opts = (f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c full_page_writes=off -c synchronous_commit=off")
        if self.user is not None:
            open(self.logfile, "a").close()
            os.chown(self.logfile, self.user.pw_uid, self.user.pw_gid)
        result = self._run([os.path.join(self.bindir, "pg_ctl"), "start", "-w", "-t", "60", "-D", self.datadir,
                            "-l", self.logfile, "-o", opts])
        if result.returncode != 0:
            log = ""
            with contextlib.suppress(OSError):
                log = open(self.logfile).read()[-800:]
            raise TempFail(f"PostgreSQL did not start: {result.stdout.decode('utf-8', 'replace')[-300:]} {log}")
        self.running = True
        return self

    def stop(self, mode="fast"):
        if self.running:
            self._run([os.path.join(self.bindir, "pg_ctl"), "stop", "-w", "-m", mode, "-D", self.datadir])
            self.running = False

    def remove(self):
        self.stop("immediate")
        if self._owned_base and self.base:
            shutil.rmtree(self.base, ignore_errors=True)

    def psql(self, sql, database="postgres", check=True):
        """Run SQL with psql as the superuser; returns stdout text."""
        argv = ["psql", "-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo_dbname(database),
                "-f", "-"]
        result = _run_tied(argv, input=sql.encode(), env=dict(os.environ, **self.env()),
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        if check and result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.decode('utf-8', 'replace')[-500:]}")
        return result.stdout.decode("utf-8", "replace")

    def __enter__(self):
        try:
            return self.create().start()
        except BaseException:
            self.remove()
            raise

    def __exit__(self, *exc):
        self.remove()
        return False


def _run_tied(argv, input=None, timeout=None, **kwargs):
    """subprocess.run for a child that dies with us (runner.popen): a killed rex-verify
    --deep leaves no initdb, pg_ctl or psql behind."""
    from ..runner import popen

    with popen(argv, **kwargs) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def wait_ready(server, timeout=30):
    from .server import query

    deadline = time.monotonic() + timeout
    while True:
        try:
            query(server, "SELECT 1")
            return
        except TempFail:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
