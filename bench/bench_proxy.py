"""bench proxy-encode: a batch of 1080p H.264 clips to 720p ProRes Proxy.

Baselines timed in the same run, with the very ffmpeg command line proxy-encode
builds (rex.media.presets.ffmpeg_argv), so only the scheduling and Rex's own work
differ:
  sequential  one encode at a time with every core's threads
  per-core    one encode per core, one thread each (a simple process pool)
The best of the two is the baseline; proxy-encode (defaults, --height 720) must
be within 1.05x. The ceiling is decode only (ffmpeg -f null) of the same sources,
again the better of the two schedules: proxy-encode's throughput is reported as a
fraction of it. Per-file overhead: 20 tiny clips one at a time, proxy-encode -j 1
vs the same ffmpeg argv in a loop, (rex - ffmpeg) / 20 (Python start-up included).
"""

import os
import shutil
import statistics
import subprocess
import time


def _make_clips(directory, count, seconds, size, say):
    os.makedirs(directory, exist_ok=True)
    paths = []
    for i in range(count):
        path = os.path.join(directory, f"C{i:03d}_{size}.mp4")
        if not os.path.exists(path):
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc2=size={size}:rate=25:duration={seconds}", "-f", "lavfi", "-i",
                            f"sine=f={220 + 40 * i}:sample_rate=48000:duration={seconds}",
                            "-map", "0", "-map", "1", "-timecode", f"{10 + i:02d}:00:00:00",
                            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                            path], check=True, stdin=subprocess.DEVNULL)
        paths.append(path)
    say(f"  {count} clips of {seconds:g} s at {size} (H.264, 25 fps, AAC) in {directory}")
    return paths


def _pool(argvs, workers):
    """Run every argv, `workers` at a time; wall seconds."""
    started = time.perf_counter()
    queue, running = list(argvs), []
    while queue or running:
        while queue and len(running) < workers:
            running.append(subprocess.Popen(queue.pop(0), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE))
        proc = running[0]
        for p in running:
            if p.poll() is not None:
                proc = p
                break
        _, err = proc.communicate()
        running.remove(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg failed: {err.decode('utf-8', 'replace')[-300:]}")
    return time.perf_counter() - started


def _argvs(sources, out_dir, threads, height):
    from rex.media import layout, presets, probe

    argvs = []
    for src in sources:
        facts = probe.probe(src, "ffprobe")
        part = os.path.join(out_dir, layout.proxy_name(src) + ".part")
        plan = presets.plan(src, part, facts, {}, presets.DEFAULT_PRESET, height, threads)
        argvs.append(presets.ffmpeg_argv("ffmpeg", plan))
    return argvs


def _frames(sources):
    from rex.media import probe

    return sum(probe.probe(s, "ffprobe").frames for s in sources)


def encode(args, work, run):
    say, timed, row = run.say, run.timed, run.row
    cores = os.cpu_count() or 1
    count, seconds = (3, 2) if args.quick else (8, 5)
    data = os.path.join(work, "proxy")
    sources = _make_clips(os.path.join(data, "src"), count, seconds, "1920x1080", say)
    frames = _frames(sources)
    base_out = os.path.join(data, "base")
    rex_root = os.path.join(data, "rex")
    env = run.isolated_env(os.path.join(data, "home"))
    proxy_encode = run.rex_program("proxy-encode")

    def clean():
        shutil.rmtree(base_out, ignore_errors=True)
        shutil.rmtree(rex_root, ignore_errors=True)
        os.makedirs(base_out)

    seq = lambda: _pool(_argvs(sources, base_out, cores, 720), 1)          # noqa: E731
    per_core = lambda: _pool(_argvs(sources, base_out, 1, 720), cores)     # noqa: E731

    def rex():
        seconds_, result = timed(proxy_encode + ["--proxy-root", rex_root, "--height", "720"] + sources, env=env)
        if len(result.stdout.splitlines()) != count:
            raise run.Failed(f"proxy-encode made {len(result.stdout.splitlines())} of {count} proxies")
        return seconds_

    decode = {"sequential": [["ffmpeg", "-v", "error", "-threads", str(cores), "-i", s, "-map", "0:v:0",
                              "-f", "null", "-"] for s in sources],
              "per-core": [["ffmpeg", "-v", "error", "-threads", "1", "-i", s, "-map", "0:v:0",
                            "-f", "null", "-"] for s in sources]}
    clean()
    timed(proxy_encode + ["--help"], env=env)
    say(f"  {frames} frames; schedules: sequential x{cores} threads, {cores} at once x1 thread, proxy-encode "
        f"(defaults: -j {cores}, 1 thread each); {args.runs} alternating runs")
    times = {"sequential": [], "per-core": [], "proxy-encode": [], "decode sequential": [],
             "decode per-core": []}
    for i in range(args.runs):
        for label, func in (("sequential", seq), ("per-core", per_core), ("proxy-encode", rex),
                            ("decode sequential", lambda: _pool(decode["sequential"], 1)),
                            ("decode per-core", lambda: _pool(decode["per-core"], cores))):
            clean()
            t = func()
            times[label].append(t)
            say(f"    run {i + 1}/{args.runs} {label:18s} {t:8.3f} s  {frames / t:6.1f} fps")
    med = {k: statistics.median(v) for k, v in times.items()}
    best_label = min(("sequential", "per-core"), key=lambda k: med[k])
    best = med[best_label]
    r = med["proxy-encode"]
    ceiling = min(med["decode sequential"], med["decode per-core"])
    rows = [row(f"{count}x1080p H.264 -> 720p ProRes Proxy", best, r, r / best,
                f"{r / best:.3f}x best", "rex/best <= 1.05", r / best <= 1.05,
                {"baseline": best_label, "medians": med, "runs": times, "frames": frames,
                 "rex_fps": frames / r, "decode_fps": frames / ceiling,
                 "fraction_of_decode": ceiling / r})]

    # Per-file overhead: many tiny clips, one at a time on both sides.
    tiny = _make_clips(os.path.join(data, "tiny"), 20, 0.2, "320x180", say)
    tiny_seq = lambda: _pool(_argvs(tiny, base_out, 1, 720), 1)          # noqa: E731

    def tiny_rex():
        return timed(proxy_encode + ["-j", "1", "--threads", "1", "--proxy-root", rex_root] + tiny, env=env)[0]

    bt, rt = [], []
    for i in range(args.runs):
        for label, func, acc in (("ffmpeg loop", tiny_seq, bt), ("proxy-encode", tiny_rex, rt)):
            clean()
            acc.append(func())
            say(f"    run {i + 1}/{args.runs} 20 tiny clips, {label:13s} {acc[-1]:8.3f} s")
    per_file = (statistics.median(rt) - statistics.median(bt)) / len(tiny)
    rows.append(row("per-file overhead (20 tiny clips, -j 1)", statistics.median(bt), statistics.median(rt),
                    per_file, f"{1000 * per_file:.0f} ms/file", "< 100 ms/file", per_file < 0.1,
                    {"baseline_runs": bt, "rex_runs": rt}))
    run.print_table("proxy-encode", rows, "best ffmpeg s")
    say(f"  medians: " + ", ".join(f"{k} {v:.2f} s ({frames / v:.1f} fps)" for k, v in med.items()))
    say(f"  proxy-encode throughput: {frames / r:.1f} fps = {100 * ceiling / r:.0f}% of decode-only "
        f"({frames / ceiling:.1f} fps, the ceiling)")
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    return {"rows": rows}
