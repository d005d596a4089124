"""proxy-encode --farm with a real redis-server and real proxy-worker processes: the awkward
clip set (23.976 with timecode, 25 fps with two audio streams, 29.97 without audio) through
proxy-scan | proxy-encode --farm | proxy-link, linked by the strict simulator; version keys,
Redis down, no worker, Ctrl-C, a password, mapped mount points, two workers."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import BIN, ROOT, run_cmd
from proxyclips import clip_set, make_clip, probe_counts
from proxyscene import open_cut
from redisserver import RedisServer


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not shutil.which("redis-server") or not shutil.which("ffmpeg"),
                                 reason="needs redis-server and ffmpeg")]

PY = sys.executable


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return clip_set(str(tmp_path_factory.mktemp("media") / "Card"))


class Workers:
    """proxy-worker processes started by a test, stopped (SIGTERM, then SIGKILL) at its end."""

    def __init__(self):
        self.procs = []

    def start(self, env, *args, argv=None, cwd=None):
        argv = argv or [PY, os.path.join(BIN, "proxy-worker"), *args]
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=cwd, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()


@pytest.fixture
def workers():
    w = Workers()
    yield w
    w.stop()


def wait_for(predicate, timeout=30, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def status(env, url):
    """proxy-worker --status --json: the workers as dicts."""
    result = run_cmd("proxy-worker", "--farm", url, "--status", "--json", env=env)
    assert result.returncode == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]


def queued(server, key=None):
    from rex.proxy.farmkey import queue_name

    return server.client().llen("rq:queue:" + queue_name(key))


def start_queuer(env, url, *args, paths=()):
    return subprocess.Popen([PY, os.path.join(BIN, "proxy-encode"), "--farm", url, *args, *paths], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# ------------------------------------------------------------------ the pipeline

@pytest.fixture
def scene(sim, tmp_path, media):
    return open_cut(sim, media, tmp_path / "proxies")


def pipeline(env, *encode_args):
    script = (f'"{PY}" "{BIN}/proxy-scan" --json | "{PY}" "{BIN}/proxy-encode" --json {" ".join(encode_args)} '
              f'| "{PY}" "{BIN}/proxy-link" --yes')
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], env=env, capture_output=True, text=True,
                          timeout=600)


def test_scan_farm_link_links_every_clip(scene, redis_server, workers):
    from tests.end_to_end.test_proxy_pipeline import proxy_status

    env, ids = scene
    workers.start(env, "--farm", redis_server.url, "-n", "2")
    result = pipeline(env, "--farm", redis_server.url, "--preset", "dnxhr_lb")
    assert result.returncode == 0, result.stderr
    linked = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(linked) == 3 and all(p.endswith(".mov") and os.path.exists(p) for _s, p in linked)
    for source, proxy in linked:
        assert probe_counts(proxy) == probe_counts(source)[:2] + (probe_counts(proxy)[2],)
    for media_id in ids:
        shown = proxy_status(media_id)
        assert shown not in ("None", "Offline") and "x" in shown, shown
    again = pipeline(env, "--farm", redis_server.url, "--preset", "dnxhr_lb")
    assert again.returncode == 0 and again.stdout == ""
    # Nothing in Redis lives for ever: every job and result expires.
    conn = redis_server.client()
    keys = [k.decode() for k in conn.keys("rq:job:*") + conn.keys("rq:results:*")]
    assert keys and all(conn.ttl(k) > 0 for k in keys), {k: conn.ttl(k) for k in keys}
    # Each job's time limit was sized from its clip, never RQ's 180 s.
    timeouts = [int(conn.hget(k, "timeout")) for k in conn.keys("rq:job:*")]
    assert len(timeouts) == 3 and all(t >= 600 for t in timeouts), timeouts


def test_a_valid_proxy_is_kept_before_anything_is_queued(rex_env, tmp_path, media, redis_server):
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    local = run_cmd("proxy-encode", media["c2997"], env=env, timeout=300)
    assert local.returncode == 0, local.err
    result = run_cmd("proxy-encode", "--farm", redis_server.url, "--farm-wait", "1s", "--json", media["c2997"],
                     env=env, timeout=60)
    assert result.returncode == 0, result.err       # no worker needed: nothing was queued
    assert json.loads(result.out)["skipped"] is True
    assert redis_server.client().keys("rq:job:*") == []


# ------------------------------------------------------------- failures of the farm

def test_redis_down_is_75_naming_host_and_port(rex_env, media):
    from rex.pg.cluster import free_port

    port = free_port()
    env = dict(rex_env, REX_FARM_PASSWORD="s3cret-pw")
    result = run_cmd("proxy-encode", "--farm", f"redis://127.0.0.1:{port}/0", media["a2398"], env=env)
    assert result.returncode == 75, result.err
    assert f"127.0.0.1:{port}" in result.err and "s3cret-pw" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_password_in_the_url_is_refused(rex_env, media):
    result = run_cmd("proxy-encode", "--farm", "redis://:hunter2@127.0.0.1:6399/0", media["a2398"], env=rex_env)
    assert result.returncode == 64 and "REX_FARM_PASSWORD" in result.err and "hunter2" not in result.err


def test_no_worker_is_75_after_the_wait_and_leaves_no_job(rex_env, tmp_path, media, redis_server):
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    started = time.monotonic()
    result = run_cmd("proxy-encode", "--farm", redis_server.url, "--farm-wait", "2s", media["a2398"], env=env,
                     timeout=120)
    assert result.returncode == 75, result.err
    assert "no worker is listening on 127.0.0.1:" in result.err and "after 2s" in result.err
    assert time.monotonic() - started < 30
    assert queued(redis_server) == 0         # its job was cancelled on the way out


def test_no_worker_falls_back_to_encoding_here(rex_env, tmp_path, media, redis_server):
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    result = run_cmd("proxy-encode", "--farm", redis_server.url, "--farm-wait", "1s", "--fallback", "local",
                     media["a2398"], media["b25"], env=env, timeout=300)
    assert result.returncode == 0, result.err
    pairs = [line.split("\t") for line in result.out.splitlines()]
    assert sorted(s for s, _p in pairs) == sorted([media["a2398"], media["b25"]])
    assert all(os.path.exists(p) for _s, p in pairs)
    assert "encoding here" in result.err and queued(redis_server) == 0


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_queuer_cancels_its_queued_jobs(rex_env, tmp_path, media, redis_server, sig, code):
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    proc = start_queuer(env, redis_server.url, "--farm-wait", "5m", paths=list(media.values()))
    wait_for(lambda: queued(redis_server) == 3, what="three queued jobs")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert out == b"" and queued(redis_server) == 0
    conn = redis_server.client()
    assert [k for k in conn.keys("rq:job:*")] == []
    assert not any(name.endswith(".part") for _d, _s, names in os.walk(tmp_path) for name in names)


def test_password_from_the_environment(rex_env, tmp_path, media, workers):
    server = RedisServer(tmp_path / "redis", password="farm-secret-1").start()
    try:
        env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
        refused = run_cmd("proxy-encode", "--farm", server.url, media["a2398"], env=env)
        assert refused.returncode == 77 and f"127.0.0.1:{server.port}" in refused.err, refused.err
        env.update(server.env())
        workers.start(env, "--farm", server.url, "-n", "1")
        result = run_cmd("proxy-encode", "--farm", server.url, "--farm-wait", "1m", media["a2398"], env=env,
                         timeout=300)
        assert result.returncode == 0, result.err
        assert "farm-secret-1" not in result.err
        assert os.path.exists(result.out.split("\t")[1].strip())
    finally:
        server.stop()


# ------------------------------------------------------------------ version keys

def other_version(tmp_path):
    """A copy of the suite whose preset table differs: another version key."""
    copy = tmp_path / "other"
    shutil.copytree(os.path.join(ROOT, "lib"), copy / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    presets = copy / "lib" / "rex" / "media" / "presets.py"
    text = presets.read_text()
    assert '"-qscale:v", "4"' in text
    presets.write_text(text.replace('"-qscale:v", "4"', '"-qscale:v", "5"', 1))
    return str(copy / "lib")


def test_a_worker_of_another_key_takes_nothing_while_a_matching_one_drains(rex_env, tmp_path, media,
                                                                           redis_server, workers):
    from rex.proxy.farmkey import queue_name, version_key

    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    proc = start_queuer(env, redis_server.url, "-v", "--farm-wait", "5m", paths=[media["a2398"], media["b25"]])
    wait_for(lambda: queued(redis_server) == 2, what="two queued jobs")
    # Someone points a worker of another version at this version's queue by hand.
    other = dict(env, PYTHONPATH=other_version(tmp_path))
    stranger = workers.start(other, argv=[os.path.join(os.path.dirname(PY), "rq"), "worker", "-w",
                                          "rex.proxy.farmworker.FarmWorker", "-S", "json", "-u", redis_server.url,
                                          queue_name(version_key())], cwd=str(tmp_path))
    listed = wait_for(lambda: [w for w in status(env, redis_server.url) if w["state"] == "mismatched"],
                      what="the mismatched worker")
    assert listed[0]["mismatched"] and listed[0]["key"] != version_key() and listed[0]["job"] is None
    assert queued(redis_server) == 2 and stranger.poll() is None
    assert not os.path.exists(tmp_path / "proxies")
    shown = run_cmd("proxy-worker", "--farm", redis_server.url, "--status", env=env)
    assert "MISMATCHED" in shown.out and listed[0]["name"] in shown.out
    workers.start(env, "--farm", redis_server.url, "-n", "1", "--burst")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert len(out.splitlines()) == 2 and queued(redis_server) == 0
    mine = [w for w in status(env, redis_server.url) if w["name"] == listed[0]["name"]]
    assert mine and mine[0]["successful"] == 0 and mine[0]["failed"] == 0
    os.killpg(stranger.pid, signal.SIGTERM)
    _out, err = stranger.communicate(timeout=30)
    assert b"put back" in err and version_key().encode() in err


# ------------------------------------------------------------------ sharing

def test_two_workers_share_a_batch(rex_env, tmp_path, redis_server, workers):
    os.makedirs(tmp_path / "src")
    clips = [make_clip(tmp_path / "src" / f"S{i}.mov", "25", seconds=2) for i in range(4)]
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    for _ in range(2):
        workers.start(env, "--farm", redis_server.url, "-n", "1")
    wait_for(lambda: len(status(env, redis_server.url)) == 2, what="two workers")
    result = run_cmd("proxy-encode", "--farm", redis_server.url, "-v", *clips, env=env, timeout=300)
    assert result.returncode == 0, result.err
    assert len(result.out.splitlines()) == 4
    makers = {line.rsplit("made by worker ", 1)[1] for line in result.err.splitlines() if "made by worker" in line}
    assert len(makers) == 2, result.err
    for name in makers:         # -v listed them first: host, version, key, state
        assert re.search(rf"worker {re.escape(name)} on \S+ \(pid \d+\): rex \S+, key \S+, idle", result.err)


def test_a_second_queuer_of_the_same_proxy_joins_the_job(rex_env, tmp_path, media, redis_server, workers):
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    first = start_queuer(env, redis_server.url, "--farm-wait", "5m", paths=[media["b25"]])
    wait_for(lambda: queued(redis_server) == 1, what="the first queuer's job")
    second = start_queuer(env, redis_server.url, "-v", "--farm-wait", "5m", paths=[media["b25"]])
    time.sleep(2)
    assert queued(redis_server) == 1 and second.poll() is None     # queued once, waited for twice
    workers.start(env, "--farm", redis_server.url, "-n", "1")
    outs = [proc.communicate(timeout=300) for proc in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    assert outs[0][0] == outs[1][0] and outs[0][0].startswith(media["b25"].encode())
    assert b"joins the farm job" in outs[1][1]
    [worker] = status(env, redis_server.url)
    assert worker["successful"] == 1


def test_the_farm_bar_is_drawn_on_a_terminal_only(rex_env, tmp_path, redis_server, workers):
    import pty

    os.makedirs(tmp_path / "src")
    clip = make_clip(tmp_path / "src" / "Long.mov", "25", seconds=6, size="1280x720")
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    workers.start(env, "--farm", redis_server.url, "-n", "1")
    wait_for(lambda: status(env, redis_server.url), what="the worker")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([PY, os.path.join(BIN, "proxy-encode"), "--farm", redis_server.url, "--preset",
                             "prores_lt", "--height", "original", clip], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    proc.wait(timeout=300)
    os.close(leader)
    assert proc.returncode == 0, drawn
    assert b"fps on the farm" in drawn and b"1 busy" in drawn and b"1/1 files" in drawn, drawn
    os.unlink(proc.stdout.read().decode().split("\t")[1].strip())
    piped = run_cmd("proxy-encode", "--farm", redis_server.url, clip, env=env, timeout=300)
    assert piped.returncode == 0 and "\r" not in piped.err and "fps on the farm" not in piped.err


# ------------------------------------------------------------------ Redis restarted

def test_redis_restarted_mid_batch(rex_env, tmp_path, redis_server, workers):
    os.makedirs(tmp_path / "src")
    clips = [make_clip(tmp_path / "src" / f"R{i}.mov", "25", seconds=4, size="640x360") for i in range(3)]
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    worker = workers.start(env, "--farm", redis_server.url, "-n", "1")
    wait_for(lambda: len(status(env, redis_server.url)) == 1, what="the worker")
    proc = start_queuer(env, redis_server.url, "--farm-wait", "1m", "--preset", "prores_lt", "--height",
                        "original", paths=clips)
    first = proc.stdout.readline()
    assert first, proc.stderr.read()
    redis_server.stop()
    time.sleep(2)
    redis_server.start()
    out, err = proc.communicate(timeout=60)      # its worker takes back what it held: no minute-long wait
    if proc.returncode:
        os.killpg(worker.pid, signal.SIGTERM)
    assert proc.returncode == 0, (err, worker.poll() is None or worker.communicate(timeout=30)[1][-3000:])
    pairs = [first.decode()] + out.decode().splitlines(keepends=True)
    assert sorted(p.split("\t")[0] for p in pairs) == sorted(clips)
    for line in pairs:
        source, proxy = line.rstrip("\n").split("\t")
        assert probe_counts(proxy)[:2] == probe_counts(source)[:2]


# ------------------------------------------------------------------ mount points

def can_bind_mount():
    import tempfile

    if not shutil.which("unshare"):
        return False
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "a"))
        os.makedirs(os.path.join(d, "b"))
        probe = subprocess.run(in_own_mounts([(os.path.join(d, "a"), os.path.join(d, "b"))], ["true"]),
                               capture_output=True)
    return probe.returncode == 0


def in_own_mounts(binds, argv):
    """argv run in a mount namespace of its own where each (real, view) of `binds` is bind-mounted."""
    mounts = " && ".join(f'mount --bind "{real}" "{view}"' for real, view in binds)
    return ["unshare", "-Urm", "sh", "-c", f'{mounts} && exec "$@"', "sh", *argv]


@pytest.mark.skipif(not can_bind_mount(), reason="needs unshare and bind mounts in a user namespace")
def test_path_map_between_two_mount_points(rex_env, tmp_path, media, redis_server, workers):
    """The queuer sees the media at .../Volumes/Media, the worker at .../mnt/media (two bind
    mounts of one directory, each in its own mount namespace); farm.path_map joins them."""
    real = os.path.dirname(media["a2398"])             # .../Card
    queuer_view, worker_view = tmp_path / "Volumes" / "Media", tmp_path / "mnt" / "media"
    os.makedirs(queuer_view)
    os.makedirs(worker_view)
    config = tmp_path / "worker.yaml"
    config.write_text(f"farm:\n  path_map:\n    {queuer_view}: {worker_view}\n")
    env = dict(rex_env)
    workers.start(env, argv=in_own_mounts([(real, worker_view)], [PY, os.path.join(BIN, "proxy-worker"), "-c",
                                                                   str(config), "--farm", redis_server.url, "-n",
                                                                   "1"]))
    wait_for(lambda: len(status(env, redis_server.url)) == 1, what="the worker")
    names = [os.path.basename(media[k]) for k in ("a2398", "b25")]
    queuer = in_own_mounts([(real, queuer_view)], [PY, os.path.join(BIN, "proxy-encode"), "--farm", redis_server.url,
                                                   "--proxy-subfolder", "--json",
                                                   *[str(queuer_view / n) for n in names]])
    result = subprocess.run(queuer, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["source"] for r in records) == sorted(str(queuer_view / n) for n in names)
    for r in records:       # the queuer's paths, made by the worker through its own
        assert r["path"].startswith(str(queuer_view / "Proxy")) and r["frames"]
        seen_here = os.path.join(real, "Proxy", os.path.basename(r["path"]))
        assert probe_counts(seen_here)[:2] == probe_counts(os.path.join(real, os.path.basename(r["source"])))[:2]
        os.unlink(seen_here)


@pytest.mark.skipif(not can_bind_mount(), reason="needs unshare and bind mounts in a user namespace")
def test_a_worker_that_cannot_see_the_source_fails_fast_naming_worker_and_path(rex_env, tmp_path, media,
                                                                               redis_server, workers):
    real = os.path.dirname(media["c2997"])
    queuer_view = tmp_path / "Volumes" / "Media"
    os.makedirs(queuer_view)                 # empty outside the queuer's namespace: the worker sees nothing
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    workers.start(env, "--farm", redis_server.url, "-n", "1")
    [worker] = wait_for(lambda: status(env, redis_server.url), what="the worker")
    source = str(queuer_view / os.path.basename(media["c2997"]))
    started = time.monotonic()
    queuer = in_own_mounts([(real, queuer_view)], [PY, os.path.join(BIN, "proxy-encode"), "--farm", redis_server.url,
                                                   source])
    result = subprocess.run(queuer, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 66 and result.stdout == "", result.stderr
    assert f"worker {worker['name']}" in result.stderr and source in result.stderr
    assert "farm.path_map" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 20          # failed, not retried


def test_on_cancel_stop_stops_the_running_encode(rex_env, tmp_path, redis_server, workers):
    os.makedirs(tmp_path / "src")
    clip = make_clip(tmp_path / "src" / "Long.mov", "25", seconds=20, size="1280x720")
    (tmp_path / "config" / "rex").mkdir(parents=True)
    (tmp_path / "config" / "rex" / "rex.yaml").write_text("farm:\n  on_cancel: stop\n")
    env = dict(rex_env, REX_PROXY_ROOT=str(tmp_path / "proxies"))
    workers.start(env, "--farm", redis_server.url, "-n", "1")
    wait_for(lambda: status(env, redis_server.url), what="the worker")
    proc = start_queuer(env, redis_server.url, "--preset", "prores_lt", "--height", "original", paths=[clip])
    wait_for(lambda: [w for w in status(env, redis_server.url) if (w["progress"] or {}).get("frame")],
             what="the encode to run")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and out == b"", err
    wait_for(lambda: all(w["state"] == "idle" for w in status(env, redis_server.url)), what="the worker to stop")
    time.sleep(1)
    made = [name for _d, _s, names in os.walk(tmp_path / "proxies") for name in names]
    assert not any(name.endswith(".mov") for name in made), made      # never a proxy under its final name
    assert not any(name.endswith(".part") for name in made), made     # nor a .part
