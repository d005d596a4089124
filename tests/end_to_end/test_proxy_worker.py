"""proxy-worker as a service, with a real redis-server, real worker processes, real ffmpeg
and a real systemd notify socket: READY/STATUS/WATCHDOG/STOPPING, the warm and the cold
stop, a worker killed mid-encode (its job done by another), and Redis out of reach."""

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import BIN
from notifysocket import NotifySocket
from proxyclips import make_clip, probe_counts

pytestmark = pytest.mark.slow    # encodes of several seconds, a minute for a lost worker

LONG = {"seconds": 40, "size": "1280x720"}     # 1000 frames of 720p: several seconds of encode


class Service:
    """`proxy-worker` as systemd would run it: in a process group (a session) of its own,
    with $NOTIFY_SOCKET and $WATCHDOG_USEC."""

    def __init__(self, redis, env, tmp_path, name, n=1, watchdog_usec=2_000_000):
        self.notify = NotifySocket()
        self.log = tmp_path / f"{name}.err"
        env = dict(env, **self.notify.env(), WATCHDOG_USEC=str(watchdog_usec))
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, os.path.join(BIN, "proxy-worker"), "-v", "--farm",
                                          redis.url, "-n", str(n)], env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        # systemd reads the socket all the time: a full one would block the service's sender.
        self._reading = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while self._reading:
            try:
                self.notify.receive(0.2)
            except OSError:
                return

    def status(self):
        found = [m["STATUS"] for m in self.notify.messages if "STATUS" in m]
        return found[-1] if found else None

    def wait_status(self, prefix, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status and status.startswith(prefix):
                return status
            time.sleep(0.1)
        raise AssertionError(f"no STATUS {prefix}...; got {[m for m in self.notify.messages]}\n{self.err()}")

    def err(self):
        return self.log.read_text(errors="replace")

    def wait(self, timeout=60):
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"proxy-worker still runs after {timeout} s:\n{self.err()}") from None
        time.sleep(0.3)     # the reader's last messages
        return code

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stdout.close()
        self._reading = False
        self._reader.join()
        self.notify.close()


@pytest.fixture
def services(redis_server, rex_env, tmp_path):
    started = []

    def start(name="a", n=1, spawn=False, **kwargs):
        env = dict(rex_env, REX_WORKER_SPAWN="1") if spawn else rex_env
        service = Service(redis_server, env, tmp_path, name, n, **kwargs)
        started.append(service)
        service.notify.wait_for("READY", "1", timeout=60)
        return service

    yield start
    for service in started:
        service.close()


def queue(redis_server, rex_env, *clips):
    """`proxy-encode --farm` in the background: the queuer, as in the editor's session."""
    return subprocess.Popen([sys.executable, os.path.join(BIN, "proxy-encode"), "--json", "--farm", redis_server.url,
                             "--height", "original", *clips], env=rex_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(queuer, timeout):
    try:
        out, err = queuer.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        queuer.kill()
        out, err = queuer.communicate()
        raise AssertionError(f"the queuer still waits after {timeout} s: {err.decode()}") from None
    return queuer.returncode, [json.loads(line) for line in out.decode().splitlines()], err.decode()


def leftovers(directory):
    return sorted(glob.glob(os.path.join(directory, "**", "*.part"), recursive=True))


def job_ids(redis_server):
    conn = redis_server.client()
    return [k.decode().split(":", 2)[2] for k in conn.keys("rq:job:rex-proxy-*")]


def test_notify_socket_hears_ready_status_watchdog_and_stopping(services, redis_server, rex_env, tmp_path):
    clip = make_clip(tmp_path / "A001.mov", **LONG)
    service = services("a")
    ready = service.notify.wait_for("READY", "1")
    assert "127.0.0.1" in ready["STATUS"] and "idle" in ready["STATUS"]
    queuer = queue(redis_server, rex_env, clip)
    status = service.wait_status("encoding A001.mov ")
    assert status.endswith("%"), status
    percent = int(status.rsplit(" ", 1)[1].rstrip("%"))
    assert 0 <= percent <= 100
    code, records, err = finished(queuer, 120)
    assert code == 0, err
    assert [os.path.basename(r["path"]) for r in records] == ["A001.mov"]
    service.wait_status("idle")
    # WATCHDOG_USEC=2 s: a ping at least every second, from the main loop, all along the encode.
    pings = [m for m in service.notify.messages if m.get("WATCHDOG") == "1"]
    assert len(pings) >= 3, service.notify.messages
    service.proc.send_signal(signal.SIGTERM)
    assert service.wait() == 0, service.err()
    service.notify.wait_for("STOPPING", "1", timeout=5)
    assert service.proc.stdout.read() == b"", "messages go to stderr, never stdout"


def test_first_sigterm_lets_the_encode_finish(services, redis_server, rex_env, tmp_path):
    clip = make_clip(tmp_path / "A001.mov", **LONG)
    service = services("a")
    queuer = queue(redis_server, rex_env, clip)
    service.wait_status("encoding A001.mov ")
    service.proc.send_signal(signal.SIGTERM)
    service.notify.wait_for("STOPPING", "1", timeout=10)
    assert service.wait(120) == 0, service.err()
    code, records, err = finished(queuer, 30)
    assert code == 0, err
    [record] = records
    assert record["frames"] == probe_counts(clip)[0] and not record["skipped"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("spawn", [False, True], ids=["fork", "spawn"])
def test_second_sigterm_stops_the_encode_and_puts_the_job_back(services, redis_server, rex_env, tmp_path, spawn):
    """Also with worker processes and encodes spawned, never forked, as on macOS."""
    clip = make_clip(tmp_path / "A001.mov", **LONG)
    first = services("a", spawn=spawn)
    queuer = queue(redis_server, rex_env, clip)
    first.wait_status("encoding A001.mov ")
    first.proc.send_signal(signal.SIGTERM)
    first.notify.wait_for("STOPPING", "1", timeout=10)
    time.sleep(1.5)                  # a second SIGTERM, not the same one twice
    first.proc.send_signal(signal.SIGTERM)
    assert first.wait(30) == 128 + signal.SIGTERM, first.err()
    assert leftovers(tmp_path) == [], "the stopped encode removes its .part"
    assert not os.path.exists(tmp_path / "Proxy" / "A001.mov")
    # Back at the front of the queue, no retry spent, nobody working on it.
    from rq import Queue
    from rq.job import Job

    from rex.proxy.farmconn import SERIALIZER
    from rex.proxy.farmkey import queue_name

    conn = redis_server.client()
    [job_id] = job_ids(redis_server)
    assert Queue(queue_name(), connection=conn).job_ids == [job_id]
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    assert job.get_status() == "queued"
    assert job.retries_left == 3, job.retries_left
    assert queuer.poll() is None, "the queuer still waits for its proxy"
    # Another worker takes it from the start.
    services("b", spawn=spawn)
    code, records, err = finished(queuer, 120)
    assert code == 0, err
    assert [r["frames"] for r in records] == [probe_counts(clip)[0]]
    assert leftovers(tmp_path) == []


def test_a_killed_worker_s_job_is_done_by_another_within_about_a_minute(services, redis_server, rex_env, tmp_path):
    """kill -9 of a whole proxy-worker (its process group: the main process and its worker
    processes; the encode dies with them) mid-encode: the other one makes the proxy."""
    clip = make_clip(tmp_path / "A001.mov", **LONG)
    a, b = services("a"), services("b")
    queuer = queue(redis_server, rex_env, clip)
    deadline = time.monotonic() + 60
    victim = None
    while victim is None and time.monotonic() < deadline:
        for service in (a, b):
            status = service.status() or ""
            if status.startswith("encoding A001.mov ") and not status.endswith(" 0%"):
                victim = service
        time.sleep(0.1)
    assert victim is not None, (a.notify.messages, b.notify.messages)
    other = b if victim is a else a
    os.killpg(victim.proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    victim.proc.wait()
    other.wait_status("encoding A001.mov", timeout=90)
    took = time.monotonic() - killed
    print(f"the killed worker's job started again elsewhere {took:.1f} s after the kill")
    assert took < 60, f"the lost job waited {took:.0f} s"
    code, records, err = finished(queuer, 120)
    assert code == 0, err + other.err()
    [record] = records
    assert record["frames"] == probe_counts(clip)[0]
    assert "queued again" in other.err()
    # One proxy, no .part, and nothing of the killed worker still running.
    assert sorted(os.listdir(tmp_path / "Proxy")) == ["A001.mov"]
    assert leftovers(tmp_path) == []
    ps = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    assert str(tmp_path / "Proxy" / "A001.mov.part") not in ps, ps


def test_unreachable_redis_is_75_naming_host_and_port(run, rex_env):
    from rex.pg.cluster import free_port

    port = free_port()
    result = run("proxy-worker", "--farm", f"redis://127.0.0.1:{port}/0",
                 env=dict(rex_env, REX_FARM_PASSWORD="s3cret-pw"), timeout=60)
    assert result.returncode == 75, result.err
    [line] = result.err.splitlines()
    assert line.startswith("proxy-worker: ") and f"127.0.0.1:{port}" in line, line
    assert "s3cret-pw" not in result.err


def test_no_farm_configured_is_a_usage_error(run, rex_env):
    result = run("proxy-worker", env=rex_env, timeout=60)
    assert result.returncode == 64, result.err
    assert "REX_FARM_URL" in result.err


def test_an_abandoned_job_goes_back_to_the_front_now_spending_a_retry(redis_server):
    """A job whose lease ran out (its worker died) is queued again at once, at the front, with
    one retry fewer; one without retries left is left to RQ (which fails it); a job that is
    still leased, or that finished, is not touched."""
    from rq import Queue, Retry
    from rq.job import JobStatus

    from rex.proxy import farmconn, worker

    conn = redis_server.client()
    queue = Queue("rex-proxy:test", connection=conn, serializer=farmconn.SERIALIZER)
    waiting = queue.enqueue("os.getcwd", job_id="waiting")
    lost, spent, leased, done = (queue.enqueue("os.getcwd", job_id=name, retry=Retry(max=retries))
                                 for name, retries in (("lost", 3), ("spent", 1), ("leased", 3), ("done", 3)))
    spent.retries_left = 0
    spent.save()
    conn.delete(queue.key)
    conn.rpush(queue.key, waiting.id)
    now = time.time()
    for job, expiry in ((lost, now - 5), (spent, now - 5), (leased, now + 30), (done, now - 5)):
        job.set_status(JobStatus.FINISHED if job is done else JobStatus.STARTED)
        conn.zadd(queue.started_job_registry.key, {f"{job.id}:exec-{job.id}": expiry})
    assert worker.requeue_abandoned(queue) == ["lost"]
    assert queue.job_ids == ["lost", "waiting"]
    lost = queue.fetch_job("lost")
    assert lost.get_status() == "queued" and lost.retries_left == 2
    left = sorted(m.decode() for m in conn.zrange(queue.started_job_registry.key, 0, -1))
    assert left == ["done:exec-done", "leased:exec-leased", "spent:exec-spent"]
    assert worker.requeue_abandoned(queue) == []


def test_a_worker_process_that_dies_is_replaced(services, redis_server, rex_env, tmp_path):
    """kill -9 of the worker processes (not the service): the main process starts others,
    which take the next job at once; systemd sees no failure. (With RQ's scheduler forked
    from a worker, it outlived a killed worker with the worker's sockets, and Redis handed
    the next job to the dead worker's pending BLPOP.)"""
    from rex.proxy import farmconn

    service = services("a", n=2)
    conn = redis_server.client()

    def mine():
        return {w["pid"] for w in farmconn.workers(conn)}

    def wait_for_workers(excluding):
        deadline = time.monotonic() + 30
        while len(mine() - excluding) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(mine() - excluding) == 2, (excluding, mine(), service.err())

    wait_for_workers(set())
    victims = mine()
    for victim in victims:
        os.kill(victim, signal.SIGKILL)
    wait_for_workers(victims)
    assert service.proc.poll() is None
    for victim in victims:
        assert f"worker process {victim} ended (signal 9): starting another" in service.err()
    clip = make_clip(tmp_path / "A001.mov", seconds=2)
    queuer = queue(redis_server, rex_env, clip)
    try:
        code, records, err = finished(queuer, 60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{service.err()}") from None
    assert code == 0 and len(records) == 1, err
