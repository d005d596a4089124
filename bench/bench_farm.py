"""bench farm: the proxy farm on a real redis-server with proxy-worker processes on loopback.

Each figure against a baseline timed in the same run (runs alternate):
  overhead  20 tiny clips, one at a time, through a FarmPool to one idle worker: from the
            enqueue to the result seen by the queuer, less the job's own run in the worker
            (RQ's started_at..ended_at); target < 50 ms. The same encodes in this process
            are timed for comparison.
  batch     8 x 5 s 1080p H.264 clips to 720p ProRes Proxy: `proxy-encode --farm` with two
            idle workers vs `proxy-encode -j 2`, one thread per encode on both sides;
            target farm / local <= 1.05.
  split     one 60 s 1080p clip (H.264 with a 1 s GOP, as cameras write): two workers with
            farm.chunk_over 30s (two chunks of 30 s, joined) vs one worker encoding it whole;
            target split / whole <= 0.6. Each chunk decodes from the keyframe before its
            first frame, so a long GOP costs each chunk up to a GOP of extra decoding.
Workers and local encodes run one thread each at normal priority (proxy.threads: 1,
proxy.nice: 0), each worker standing for one core of a machine.

`h` is bench/run.py itself (its helpers: say, timed, row, rex_program, ...).
"""

import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# One thread per encode, as one core of a machine each; no niceness, so the other users of
# a shared machine do not weigh more on two workers than on one.
PROXY = "proxy:\n  threads: 1\n  nice: 0\n"
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))    # redisserver: a real redis-server


class Workers:
    """proxy-worker processes (one encode each), stopped at the end."""

    def __init__(self, h, env, url):
        self.h, self.env, self.url, self.procs = h, env, url, []

    def start(self, count):
        for _ in range(count):
            self.procs.append(subprocess.Popen(self.h.rex_program("proxy-worker") + ["--farm", self.url, "-n", "1"],
                                               env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL, start_new_session=True))
        self._wait_listening(len(self.procs))

    def _wait_listening(self, count):
        from rex.proxy import farmconn

        conn = farmconn.connect(self.url)
        deadline = time.monotonic() + 60
        while len(farmconn.workers(conn)) < count:
            if time.monotonic() > deadline:
                raise self.h.Failed(f"{count} proxy-worker processes did not register within 60 s")
            time.sleep(0.1)

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []


def _config(path, text):
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    return path


def farm(args, work, h):
    from redisserver import RedisServer

    data = os.path.join(work, "farm")
    os.makedirs(data, exist_ok=True)
    server = RedisServer(os.path.join(data, "redis")).start()
    rows = []
    try:
        env = h.isolated_env(os.path.join(data, "home"))
        env["REX_CONFIG"] = _config(os.path.join(data, "rex.yaml"), PROXY)
        rows.append(_overhead(args, data, h, env, server.url))
        rows.append(_batch(args, data, h, env, server.url))
        rows.append(_split(args, data, h, env, server.url))
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    h.print_table("farm: proxy-encode --farm on loopback workers", rows, "baseline s")
    return {"rows": rows}


def _overhead(args, data, h, env, url):
    """Per-job overhead on tiny clips: one idle worker, one clip at a time.

    For each clip, from the enqueue (after the queuer's probe) to the result seen by the
    queuer, less the time the job itself ran in the worker (RQ's started_at..ended_at,
    set in the work horse around the task): what the farm adds to an encode, that is
    the queue, the fork of the work horse, the result and the word to the queuer.
    """
    import bench_proxy
    from rq.job import Job as RQJob

    from rex.media.encode import Encoder, Job
    from rex.proxy import farmconn, farmspec
    from rex.proxy.farmpool import FarmPool

    count = 8 if args.quick else 20
    tiny = bench_proxy._make_clips(os.path.join(data, "tiny"), count, 0.2, "320x180", h.say)
    out = os.path.join(data, "tiny-out")

    class Timed(Encoder):
        """Notes when the queuer's probe ends: the farm's clock starts at the enqueue."""

        def inspect(self, job):
            found = super().inspect(job)
            self.inspected = time.time()
            return found

    workers = Workers(h, env, url)
    workers.start(1)
    try:
        conn = farmconn.connect(url)
        encoder = Timed("ffmpeg", "ffprobe", threads=1)

        def jobs(tag):
            shutil.rmtree(out, ignore_errors=True)
            return [Job(s, os.path.join(out, tag, os.path.basename(s) + ".mov"), {}, "prores_proxy", "original")
                    for s in tiny]

        def local():
            times = []
            for job in jobs("local"):
                started = time.time()
                result = encoder.run(job)
                times.append(time.time() - started)
                if not result.ok:
                    raise h.Failed(result.message)
            return times

        def farmed():
            totals, overheads = [], []
            pool = FarmPool(conn, url, encoder, wait=60)
            for job in jobs("farm"):
                pool.submit(job)
                results = []
                while not results:
                    results = pool.finished(5)
                seen = time.time()
                if not results[0].ok:
                    raise h.Failed(results[0].message)
                done = RQJob.fetch(farmspec.job_id(job.proxy), connection=conn, serializer=farmconn.SERIALIZER)
                ran = (done.ended_at - done.started_at).total_seconds()
                totals.append(seen - encoder.inspected)
                overheads.append(seen - encoder.inspected - ran)
            pool.close()
            return totals, overheads

        farmed()                      # warm: the worker's first job imports what it needs
        local_times, farm_times, overheads = [], [], []
        for i in range(args.runs):
            local_times += local()
            totals, extra = farmed()
            farm_times += totals
            overheads += extra
            h.say(f"    run {i + 1}/{args.runs} {count} tiny clips, median per clip: local "
                  f"{1000 * statistics.median(local_times[-count:]):.0f} ms, farm "
                  f"{1000 * statistics.median(totals):.0f} ms, of which the farm's own "
                  f"{1000 * statistics.median(extra):.1f} ms (max {1000 * max(extra):.1f})")
    finally:
        workers.stop()
    b, r = statistics.median(local_times), statistics.median(farm_times)
    overhead = statistics.median(overheads)
    return h.row(f"per-job overhead ({count} tiny clips, 1 worker)", b, r, overhead,
                 f"{1000 * overhead:.1f} ms/job", "< 50 ms/job", overhead < 0.05,
                 {"local_per_clip": local_times, "farm_per_clip": farm_times, "overhead_per_clip": overheads})


def _batch(args, data, h, env, url):
    """Two idle workers vs proxy-encode -j 2 on the same batch."""
    import bench_proxy

    count, seconds = (3, 2) if args.quick else (8, 5)
    sources = bench_proxy._make_clips(os.path.join(data, "src"), count, seconds, "1920x1080", h.say)
    proxy_encode = h.rex_program("proxy-encode")
    out = os.path.join(data, "batch-out")

    def run(extra):
        shutil.rmtree(out, ignore_errors=True)
        seconds_, result = h.timed(proxy_encode + ["--proxy-root", out, "--height", "720", "--preset",
                                                   "prores_proxy"] + extra + sources, env=env, check=False)
        made = len(result.stdout.splitlines())
        if result.returncode != 0 or made != count:
            raise h.Failed(f"proxy-encode {' '.join(extra)}: {made} of {count} proxies: "
                           f"{result.stderr.decode('utf-8', 'replace')[-300:]}")
        return seconds_

    workers = Workers(h, env, url)
    workers.start(2)
    try:
        h.say(f"  {count} clips; proxy-encode -j 2 --threads 1 vs proxy-encode --farm with 2 workers "
              f"({args.runs} alternating runs)")
        base, rex = h.alternate(args.runs, lambda: run(["-j", "2", "--threads", "1"]),
                                lambda: run(["--farm", url]))
    finally:
        workers.stop()
    b, r = statistics.median(base), statistics.median(rex)
    return h.row(f"{count}x1080p batch: 2 workers vs -j 2", b, r, r / b, f"{r / b:.3f}x", "farm/local <= 1.05",
                 r / b <= 1.05, {"baseline_runs": base, "rex_runs": rex})


def _split(args, data, h, env, url):
    """One long clip: two workers on its chunks vs one worker on the whole."""
    seconds = 20 if args.quick else 60
    source = os.path.join(data, "long", f"L001_{seconds}s_1080p.mp4")
    os.makedirs(os.path.dirname(source), exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=1920x1080:rate=25:duration={seconds}", "-f", "lavfi", "-i",
                    f"sine=f=440:sample_rate=48000:duration={seconds}", "-map", "0", "-map", "1",
                    "-timecode", "01:00:00:00", "-c:v", "libx264", "-preset", "veryfast", "-g", "25",
                    "-pix_fmt", "yuv420p",
                    "-c:a", "aac", source], check=True, stdin=subprocess.DEVNULL)
    over = length = seconds // 2          # two chunks, one per worker
    whole_env = dict(env, REX_CONFIG=_config(os.path.join(data, "whole.yaml"), PROXY))
    split_env = dict(env, REX_CONFIG=_config(os.path.join(data, "split.yaml"),
                                             PROXY + f"farm:\n  chunk_over: {over}s\n  chunk_length: {length}s\n"))
    proxy_encode = h.rex_program("proxy-encode")
    out = os.path.join(data, "long-out")
    workers = Workers(h, env, url)

    def run(run_env, count):
        shutil.rmtree(out, ignore_errors=True)
        workers.start(count)
        try:
            seconds_, result = h.timed(proxy_encode + ["--farm", url, "--proxy-root", out, "--height", "720",
                                                       "--preset", "prores_proxy", source], env=run_env,
                                       check=False)
        finally:
            workers.stop()
        if result.returncode != 0 or len(result.stdout.splitlines()) != 1:
            raise h.Failed(f"proxy-encode --farm: {result.stderr.decode('utf-8', 'replace')[-300:]}")
        return seconds_

    h.say(f"  one {seconds} s 1080p clip: 1 worker whole vs 2 workers on chunks of {length} s "
          f"(farm.chunk_over {over}s; {args.runs} alternating runs; workers started before the clock)")
    base, rex = h.alternate(args.runs, lambda: run(whole_env, 1), lambda: run(split_env, 2))
    b, r = statistics.median(base), statistics.median(rex)
    return h.row(f"{seconds} s 1080p clip: split over 2 vs whole on 1", b, r, r / b, f"{r / b:.3f}x",
                 "split/whole <= 0.6", r / b <= 0.6, {"baseline_runs": base, "rex_runs": rex})
