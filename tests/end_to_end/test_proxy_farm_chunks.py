"""A long clip on the farm: cut into chunks that two real proxy-worker processes encode, joined
into one proxy that is the whole encode's frames and samples and that the strict simulator
links; a failed chunk fails the clip, and a cancelled queuer leaves no chunk behind."""

import os
import shutil
import signal
from fractions import Fraction

import pytest

from conftest import run_cmd
from proxyclips import probe_counts
from rex.media import chunks
from tests.end_to_end.test_proxy_farm import Workers, pipeline, queued, start_queuer, status, wait_for
from tests.integration.test_chunked import decoded_md5, make_source

from _rexsim import state  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not shutil.which("redis-server") or not shutil.which("ffmpeg"),
                                 reason="needs redis-server and ffmpeg")]

DB = "Local Database"


@pytest.fixture
def workers():
    w = Workers()
    yield w
    w.stop()


def farm_env(env, tmp_path, over="5s", length="3s"):
    """`env` with a configuration that splits clips over `over` into chunks of `length`."""
    config = tmp_path / "rex.yaml"
    config.write_text(f"farm:\n  chunk_over: {over}\n  chunk_length: {length}\n")
    return dict(env, REX_CONFIG=str(config), REX_PROXY_ROOT=str(tmp_path / "proxies"))


def chunk_results(server):
    """{chunk job id: its result dict} of every chunk job still in Redis."""
    from rq.job import Job

    from rex.proxy import farmconn

    conn = server.client()
    ids = [k.decode()[len("rq:job:"):] for k in conn.keys("rq:job:*-chunk*") if b":" not in k[len("rq:job:"):]]
    return {i: Job.fetch(i, connection=conn, serializer=farmconn.SERIALIZER).return_value() for i in ids}


def leftovers(root):
    return [os.path.join(d, n) for d, dirs, names in os.walk(root) for n in dirs + names
            if n.endswith((".part", chunks.CHUNK_DIR_SUFFIX))]


def test_a_long_clip_is_split_over_two_workers_joined_and_linked(sim, tmp_path, redis_server, workers):
    from tests.end_to_end.test_proxy_pipeline import proxy_status

    source = make_source(tmp_path / "Card" / "A001 long.mov", "24000/1001", 12, "01:00:00:00", (48000, 44100))
    state.add_project(DB, (), "Cut", sample=False)
    media_id = state.add_media_clip(DB, (), "Cut", source)
    state.add_timeline(DB, (), "Cut", "Edit 1", video=[media_id])
    state.set_current(DB, (), "Cut")
    env = farm_env(sim, tmp_path)
    for _ in range(2):
        workers.start(env, "--farm", redis_server.url, "-n", "1")
    wait_for(lambda: len(status(env, redis_server.url)) == 2, what="two workers")
    result = pipeline(env, "--farm", redis_server.url, "--preset", "prores_proxy")
    assert result.returncode == 0, result.stderr
    [(linked_source, proxy)] = [line.split("\t") for line in result.stdout.splitlines()]
    assert linked_source == source and os.path.exists(proxy)
    shown = proxy_status(media_id)
    assert shown not in ("None", "Offline") and "x" in shown, shown
    # Split: 288 frames in 5 chunks of at most 3 s (71.9 frames), taken by both workers.
    done = chunk_results(redis_server)
    assert len(done) == len(chunks.plan(288, Fraction(24000, 1001), 3)) == 5
    assert all(r["ok"] for r in done.values()), done
    assert len({r["worker"] for r in done.values()}) == 2, done
    # The joined proxy is what one whole encode makes: frames, timecode, every audio stream's samples.
    whole = tmp_path / "whole"
    local = run_cmd("proxy-encode", "--preset", "prores_proxy", "--proxy-root", str(whole), source,
                    env=env, timeout=300)
    assert local.returncode == 0, local.err
    whole_proxy = local.out.split("\t")[1].strip()
    assert probe_counts(proxy) == probe_counts(whole_proxy) == (288, 2, "01:00:00:00")
    for stream in ("0:v:0", "0:a:0", "0:a:1"):
        assert decoded_md5(proxy, stream) == decoded_md5(whole_proxy, stream), stream
    assert leftovers(tmp_path) == []
    # Nothing in Redis lives for ever, chunk jobs included.
    conn = redis_server.client()
    assert all(conn.ttl(k) > 0 for k in conn.keys("rq:job:*") + conn.keys("rq:results:*"))


def test_a_failed_chunk_fails_the_clip_and_leaves_no_chunk(rex_env, tmp_path, redis_server, workers):
    source = make_source(tmp_path / "B001.mov", "25", 12, "10:00:00:00", (48000,))
    env = farm_env(rex_env, tmp_path, length="2s")
    proc = start_queuer(env, redis_server.url, "--preset", "prores_proxy", paths=[source])
    wait_for(lambda: queued(redis_server) == 6, what="six chunk jobs")
    workers.start(env, "--farm", redis_server.url, "-n", "1")
    # The source goes away once the first chunk is under way: the others cannot see it.
    wait_for(lambda: any(n.endswith(".part") for _d, _s, names in os.walk(tmp_path / "proxies") for n in names),
             timeout=60, what="the first chunk")
    os.unlink(source)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode not in (0, 130, 143), err
    assert out == b"" and b"B001.mov" in err and b"cannot be seen" in err
    assert leftovers(tmp_path) == []


def test_a_cancelled_queuer_leaves_no_chunk_job_and_no_chunk(rex_env, tmp_path, redis_server, workers):
    source = make_source(tmp_path / "C001.mov", "30000/1001", 8, "01:00:00;00", (48000,))
    env = farm_env(rex_env, tmp_path)
    proc = start_queuer(env, redis_server.url, "--farm-wait", "5m", paths=[source])
    wait_for(lambda: queued(redis_server) == 3 and redis_server.client().keys("rq:deferred:*"),
             what="three chunk jobs and their join")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert queued(redis_server) == 0 and redis_server.client().keys("rq:job:*") == [], err
    worker = workers.start(env, "--farm", redis_server.url, "-n", "1", "--burst")
    worker.communicate(timeout=60)
    assert not os.path.exists(tmp_path / "proxies") or leftovers(tmp_path) == []
    assert not any(n.endswith(".mov") for _d, _s, names in os.walk(tmp_path / "proxies") for n in names)


def test_a_short_clip_is_not_split(rex_env, tmp_path, redis_server, workers):
    source = make_source(tmp_path / "D001.mov", "25", 4, None, (48000,))
    env = farm_env(rex_env, tmp_path)
    workers.start(env, "--farm", redis_server.url, "-n", "1")
    result = run_cmd("proxy-encode", "--farm", redis_server.url, source, env=env, timeout=300)
    assert result.returncode == 0, result.err
    assert chunk_results(redis_server) == {}
    assert probe_counts(result.out.split("\t")[1].strip())[:2] == (100, 1)


def test_split_jobs_run_with_the_whole_jobs_options(tmp_path, redis_server):
    """The chunk jobs and the join carry the proxy's options: TTLs, retries, a timeout sized
    for their frames (never RQ's 180 s), the key each worker checks; the join waits for all."""
    from rq import Queue, Retry
    from rq.job import Job

    from rex.proxy import farmconn, farmkey, farmspec, farmsplit

    conn = redis_server.client()
    queue = Queue(farmkey.queue_name(), connection=conn, serializer=farmconn.SERIALIZER)
    spec = {"source": "/m/E001.mov", "target": "/p/E001.mov", "preset": "prores_proxy", "frames": 30000,
            "rate": "25/1", "duration": 1200.0, "size": [1920, 1080], "key": farmkey.version_key()}
    options = dict(job_id=farmspec.job_id(spec["target"]), unique=True, timeout=farmspec.job_timeout(spec),
                   result_ttl=600, failure_ttl=3600, retry=Retry(max=3, interval=[10, 30, 60]), description="x")
    assert farmsplit.enqueue(queue, spec, options, 600, 120)
    ids = [farmsplit.chunk_id(options["job_id"], i) for i in range(10)]
    assert queue.job_ids == ids
    join = Job.fetch(options["job_id"], connection=conn, serializer=farmconn.SERIALIZER)
    assert join.get_status() == "deferred" and set(join._dependency_ids) == set(ids)
    assert join.allow_dependency_failures and join.kwargs["spec"] == spec
    for job_id in ids:
        chunk = Job.fetch(job_id, connection=conn, serializer=farmconn.SERIALIZER)
        assert chunk.kwargs["spec"]["key"] == farmkey.version_key() and chunk.kwargs["chunk"]["frames"] == 3000
        assert chunk.timeout == farmspec.job_timeout(dict(spec, frames=3000)) > 180
        assert (chunk.result_ttl, chunk.failure_ttl, chunk.retries_left) == (600, 3600, 3)
    assert not farmsplit.enqueue(queue, dict(spec, frames=15000, duration=600.0), options, 600, 120)
    assert not farmsplit.enqueue(queue, dict(spec, duration=1100.0), options, 600, 120)     # not a steady rate
    farmsplit.cancel_chunks(join)
    assert queue.job_ids == []
