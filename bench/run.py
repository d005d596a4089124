#!/usr/bin/env python3
"""Rex benchmarks: each measured against a baseline timed in the same run.

    bench/run.py [--quick] [--runs N] [--keep] [--profile] [pgdump] [verify] [startup]
                 [dedupe-compare] [dedupe-tree] [export-overhead] [proxy-encode] [prune] [upload] [standby] [web]
                 [farm]

  pgdump   pg_dump -Fc -ZN (the pg_dump Rex picks) vs rex-pgdump -Z N (--level, default 6), on a library
           of >= 300 MB in a throwaway cluster (pg_restore --list check, md5, sidecar).
  verify   md5sum -c vs rex-verify: 20 files of 50 MB, then one file of 1 GB, from
           the page cache.
  startup  rex-pgdump/rex-verify/rex-config --help vs `python -c pass`; -X importtime.
  dedupe-compare  md5sum of two 50 MB .drp files (one project exported twice, grown from
           a real Resolve export) vs rex.backups.drp.canonical_digest of both, and of one.
  dedupe-tree  md5sum over 500 backups (50 projects x 10 exports, some edited) vs
           rex-dedupe --tree; links made and space saved.
  export-overhead  a script calling ExportProject for 40 projects in the Resolve
           simulator vs rex-export --force; (rex - baseline) per project, and a cProfile
           of rex-export when it misses (or with --profile).
  proxy-encode  8 x 5 s 1080p H.264 clips to 720p ProRes Proxy: the best plain-ffmpeg schedule
           (sequential with all threads, or one per core with one thread) vs proxy-encode;
           throughput as a fraction of decode only; per-file overhead on 20 tiny clips.
  prune    rex.retention.policy.decide over 100,000 synthetic stamps (one set, 15-minute backups over
           ~3 years) with every rule and a verified backup, vs sorting the same stamps; target < 2 s.
           Then, for information, the whole rex-prune command over as many files in one directory
           vs `find -delete` of them.
  upload   plain `rclone copy` vs rex-upload --sync (copy, then every file checked against its sidecar)
           of 20 x 50 MB to `rclone serve sftp` on 127.0.0.1 (target <= 1.1x), and for information to
           `rclone serve webdav` (no hashes) with and without the download check.

  standby  replay lag p50/p99 under many small transactions, catch-up after 200 MB written while
           the standby was stopped, and rex-standby status wall time (target < 0.3 s).
  web      rex-web over 100,000 backups in 2,000 sets: cold start to listening and to the first full
           inventory (vs a bare os.walk), warm p50/p99 of /api/v1/sets and / (target p99 < 100 ms,
           vs the constant openapi document), memory held.
  farm     the proxy farm on a real redis-server with proxy-worker processes on loopback: per-job
           overhead on 20 tiny clips (target < 50 ms), two workers vs proxy-encode -j 2 on 8 x 5 s 1080p
           clips (target <= 1.05x), one 60 s 1080p clip split over two workers vs whole on one (<= 0.6x).

Runs alternate (baseline, rex, baseline, rex, ...) and the medians are compared.
Timings are printed, never asserted: the exit status is 0 unless something failed
to run. Results also go to bench/out/results.json. The machine is shared, so the
load average is printed: figures are noisy when it is high.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "lib"))
sys.path.insert(0, os.path.join(ROOT, "tools"))    # sample_library: the sample data, not shipped

MB = 1000 * 1000
BENCHMARKS = ("pgdump", "verify", "startup", "dedupe-compare", "dedupe-tree", "export-overhead", "proxy-encode",
              "prune", "upload", "standby", "web", "farm")


# ----------------------------------------------------------------- helpers

def say(text=""):
    print(text, flush=True)


def load_note():
    load = os.getloadavg()
    cores = os.cpu_count() or 1
    note = f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {cores} cores"
    if load[0] > 0.5 * cores:
        note += "  -- HIGH: other processes compete, figures are noisy"
    return load, note


def rex_program(name):
    """argv prefix for a Rex command: the one on PATH (make bench puts .venv/bin first), else bin/."""
    found = shutil.which(name)
    if found:
        return [found]
    return [sys.executable, os.path.join(ROOT, "bin", name)]


LAST_CPU = [0.0]   # CPU seconds (user + system) of the last timed program and its children


class Failed(Exception):
    pass


def timed(argv, env=None, cwd=None, check=True):
    """Wall seconds of one run (stdout and stderr captured)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    LAST_CPU[0] = result.cpu
    if check and result.returncode != 0:
        raise Failed(f"{' '.join(map(str, argv[:3]))}... exited {result.returncode}: "
                     f"{result.stderr.decode('utf-8', 'replace').strip()[-600:]}")
    return seconds, result


def alternate(runs, baseline, rex, after_each=None):
    """Time baseline() and rex() alternately `runs` times each; returns (baseline list, rex list)."""
    base_times, rex_times = [], []
    for i in range(runs):
        for label, func, times in (("baseline", baseline, base_times), ("rex", rex, rex_times)):
            seconds = func()
            times.append(seconds)
            say(f"    run {i + 1}/{runs} {label:8s} {seconds:8.3f} s   (cpu {LAST_CPU[0]:6.3f} s)")
            if after_each:
                after_each(label)
    return base_times, rex_times


def isolated_env(base, extra=None):
    """Environment with private XDG dirs, no REX_/PG variables from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "REX_", "XDG_"))}
    # As installed, Rex runs from byte-compiled modules; a PYTHONDONTWRITEBYTECODE in the
    # caller's environment would make every run compile its sources again. The cache goes
    # under bench/out, not beside the sources.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(OUT, "pycache")
    for sub in ("config", "state", "data", "cache"):
        os.makedirs(os.path.join(base, sub), exist_ok=True)
    env.update(XDG_CONFIG_HOME=os.path.join(base, "config"), XDG_STATE_HOME=os.path.join(base, "state"),
               XDG_DATA_HOME=os.path.join(base, "data"), XDG_CACHE_HOME=os.path.join(base, "cache"),
               LC_ALL="C.UTF-8")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env


def row(case, base, rex, ratio, ratio_text, target, met, extra=None):
    entry = {"case": case, "baseline_s": base, "rex_s": rex, "ratio": ratio, "ratio_text": ratio_text,
             "target": target, "met": met}
    entry.update(extra or {})
    return entry


def print_table(title, rows, base_label="baseline s"):
    say()
    say(f"== {title}")
    header = f"{'case':34s} {base_label:>12s} {'rex s':>10s} {'ratio':>14s} {'target':>18s}  met"
    say(header)
    say("-" * len(header))
    for r in rows:
        base = "-" if r["baseline_s"] is None else f"{r['baseline_s']:.3f}"
        met = "yes" if r["met"] else "NO"
        say(f"{r['case']:34s} {base:>12s} {r['rex_s']:10.3f} {r['ratio_text']:>14s} {r['target']:>18s}  {met}")


# ------------------------------------------------------------------ pgdump

def bench_pgdump(args, work):
    from data import create_bench_library, database_size
    from rex.checksum import md5_file
    from rex.pg.cluster import Cluster

    target = (40 if args.quick else 320) * MB
    name = "Resolve Bench"
    runs = args.runs
    results = {}
    with Cluster() as cluster:
        say(f"  cluster on port {cluster.port}; filling {name!r} to >= {target / MB:.0f} MB "
            "(mostly incompressible payloads)")
        started = time.perf_counter()
        size = create_bench_library(cluster, name, target, progress=say)
        say(f"  pg_database_size = {size / MB:.1f} MB (built in {time.perf_counter() - started:.0f} s)")
        major = int(cluster.psql("SHOW server_version_num;").strip()) // 10000
        pg_dump = f"/usr/lib/postgresql/{major}/bin/pg_dump"
        if not os.access(pg_dump, os.X_OK):
            raise Failed(f"{pg_dump} not found")

        pgenv = cluster.env()
        base_env = dict(os.environ, **pgenv)
        outdir = os.path.join(work, "pgdump")
        os.makedirs(outdir, exist_ok=True)
        backups = os.path.join(outdir, "backups")
        rex_env = isolated_env(os.path.join(outdir, "home"), dict(pgenv, REX_BACKUP_ROOT=backups))
        plain = os.path.join(outdir, "plain.backup")
        sizes = {}
        hash_times = []

        def baseline():
            seconds, _ = timed([pg_dump, "-Fc", f"-Z{args.level}", "-f", plain, name], env=base_env)
            sizes["baseline"] = os.path.getsize(plain)
            return seconds

        def rex():
            seconds, result = timed(rex_program("rex-pgdump") + ["-Z", str(args.level), name], env=rex_env)
            path = result.stdout.decode().strip().splitlines()[-1]
            sizes["rex"] = os.path.getsize(path)
            if not os.path.exists(path + ".md5"):
                raise Failed(f"rex-pgdump wrote no sidecar for {path}")
            # Not timed: what the md5 alone costs, the part of Rex's work that cannot
            # overlap pg_dump (pg_dump rewrites the table of contents at the file's start last).
            started = time.perf_counter()
            md5_file(path)
            hash_times.append(time.perf_counter() - started)
            return seconds

        def cleanup(_label):
            with_suppressed(os.unlink, plain)
            shutil.rmtree(backups, ignore_errors=True)

        say("  warming up: one untimed run of each (table data into the page cache, Rex's bytecode cache)")
        for func in (baseline, rex):
            func()
            cleanup(None)
        say(f"  {pg_dump} -Fc -Z{args.level} -f FILE DB   vs   rex-pgdump -Z {args.level} DB   ({runs} alternating runs each)")
        base_times, rex_times = alternate(runs, baseline, rex, cleanup)
        size_after = database_size(cluster, name)

    b, r = statistics.median(base_times), statistics.median(rex_times)
    ratio = r / b
    hashed = statistics.median(hash_times[-runs:])
    results["rows"] = [row(f"pg_dump -Z{args.level} vs rex-pgdump -Z {args.level}", b, r, ratio, f"{ratio:.3f}x", "rex/base <= 1.05",
                           ratio <= 1.05, {"baseline_runs": base_times, "rex_runs": rex_times,
                                           "md5_of_dump_s": hashed})]
    results["database_bytes"] = size_after
    results["dump_bytes"] = sizes
    results["pg_dump"] = pg_dump
    print_table(f"pgdump: library {size_after / MB:.1f} MB on disk, dump {sizes.get('rex', 0) / MB:.1f} MB "
                f"(baseline file {sizes.get('baseline', 0) / MB:.1f} MB)", results["rows"])
    say(f"  of Rex's extra {r - b:+.3f} s, the md5 of the dump alone takes {hashed:.3f} s "
        f"({100 * hashed / b:.1f}% of the baseline): it can only start when pg_dump has finished")
    return results


def with_suppressed(func, *a):
    try:
        func(*a)
    except OSError:
        pass


# ------------------------------------------------------------------ verify

def bench_verify(args, work):
    from data import ensure_random_file

    count, each, single = (20, 50 * MB, 1000 * MB) if not args.quick else (6, 8 * MB, 100 * MB)
    runs = args.runs
    cores = os.cpu_count() or 1
    data = os.path.join(work, "verify")
    many_dir = os.path.join(data, "many")
    one_dir = os.path.join(data, "one")
    os.makedirs(many_dir, exist_ok=True)
    os.makedirs(one_dir, exist_ok=True)
    say(f"  writing {count} x {each / MB:.0f} MB and 1 x {single / MB:.0f} MB of random data with sidecars "
        f"under {data}")
    names = [f"clip{i:02d}.bin" for i in range(count)]
    for n in names:
        ensure_random_file(os.path.join(many_dir, n), each)
    ensure_random_file(os.path.join(one_dir, "library.bin"), single)
    env = isolated_env(os.path.join(work, "verify-home"))
    rex_verify = rex_program("rex-verify")
    timed(rex_verify + ["--help"], env=env)   # fills the bytecode cache

    def warm(directory, files):
        subprocess.run(["cat"] + files, cwd=directory, stdout=subprocess.DEVNULL, check=True)

    def case(directory, files):
        sidecars = [f + ".md5" for f in files]
        warm(directory, files + sidecars)

        def baseline():
            return timed(["md5sum", "-c", "--quiet"] + sidecars, cwd=directory)[0]

        def rex():
            seconds, result = timed(rex_verify + files, env=env, cwd=directory)
            if len(result.stdout.splitlines()) != len(files):
                raise Failed(f"rex-verify passed on {len(result.stdout.splitlines())} of {len(files)} files")
            return seconds

        return alternate(runs, baseline, rex)

    def parallel_md5sum():
        """`cores` md5sum -c processes at once, each on its share of the files: what the
        machine allows right now (another process busy on a core shows here)."""
        shares = [[n + ".md5" for n in names[i::cores]] for i in range(cores)]
        started = time.perf_counter()
        procs = [subprocess.Popen(["md5sum", "-c", "--quiet"] + share, cwd=many_dir, stdout=subprocess.DEVNULL)
                 for share in shares if share]
        if any(p.wait() != 0 for p in procs):
            raise Failed("md5sum -c failed on the bench files")
        return time.perf_counter() - started

    rows = []
    say(f"  {count} files: md5sum -c vs rex-verify (jobs = {cores} cores), {runs} alternating runs each")
    bt, rt = case(many_dir, names)
    b, r = statistics.median(bt), statistics.median(rt)
    pt = [parallel_md5sum() for _ in range(runs)]
    p = statistics.median(pt)
    speed = b / r
    need = 1.6 if cores >= 2 else 1.0
    say(f"  for reference, {cores} md5sum -c processes at once take {p:.3f} s: the machine allows a speed-up "
        f"of {b / p:.2f}x now" + ("  -- other processes hold a core, the target cannot be met"
                                 if b / p < need else ""))
    rows.append(row(f"{count} x {each / MB:.0f} MB, md5sum -c vs rex-verify", b, r, r / b, f"{speed:.2f}x faster",
                    f"speed-up >= {need:g}x", speed >= need,
                    {"speedup": speed, "baseline_runs": bt, "rex_runs": rt, "files": count, "bytes_each": each,
                     "jobs": cores, "parallel_md5sum_s": p, "parallel_md5sum_runs": pt,
                     "available_speedup": b / p}))
    say(f"  1 file of {single / MB:.0f} MB: md5sum -c vs rex-verify, {runs} alternating runs each")
    bt, rt = case(one_dir, ["library.bin"])
    b, r = statistics.median(bt), statistics.median(rt)
    rows.append(row(f"1 x {single / MB:.0f} MB, md5sum -c vs rex-verify", b, r, r / b, f"{b / r:.2f}x faster",
                    "rex/base <= 1.05", r / b <= 1.05,
                    {"speedup": b / r, "baseline_runs": bt, "rex_runs": rt, "bytes": single}))
    print_table("verify (from the page cache)", rows, "md5sum s")
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    return {"rows": rows}


# ----------------------------------------------------------------- startup

def parse_importtime(stderr):
    """[(self_us, cumulative_us, module)] from `python -X importtime` output."""
    found = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        try:
            self_us, cumulative, module = line[len("import time:"):].split("|", 2)
            found.append((int(self_us), int(cumulative), module.rstrip()))
        except ValueError:
            continue
    return found


def bench_startup(args, work):
    runs = 3 if args.quick else 10
    env = isolated_env(os.path.join(work, "startup-home"))
    python = sys.executable

    def median_of(argv):
        times = [timed(argv, env=env)[0] for _ in range(runs)]
        return statistics.median(times), times

    say(f"  median wall time of {runs} runs each; baseline: {python} -c pass")
    timed([python, "-c", "pass"], env=env)   # one unmeasured run each to settle the caches
    base, base_runs = median_of([python, "-c", "pass"])
    rows = []
    for name in ("rex-pgdump", "rex-verify", "rex-config"):
        argv = rex_program(name) + ["--help"]
        timed(argv, env=env)
        med, times = median_of(argv)
        rows.append(row(f"{name} --help", base, med, med / base, f"{med / base:.1f}x python", "< 0.250 s",
                        med < 0.25, {"baseline_runs": base_runs, "rex_runs": times}))
    print_table("startup (baseline: python -c pass)", rows)

    argv = rex_program("rex-pgdump")
    if len(argv) == 1:
        argv = [python, argv[0]]
    argv = [argv[0], "-X", "importtime"] + argv[1:] + ["--help"]
    _, result = timed(argv, env=env)
    imports = parse_importtime(result.stderr.decode("utf-8", "replace"))
    by_self = sorted(imports, reverse=True)[:5]
    by_cumulative = sorted(imports, key=lambda t: t[1], reverse=True)[:5]
    say()
    say("  rex-pgdump --help, python -X importtime: 5 slowest imports (self)")
    for self_us, cumulative, module in by_self:
        say(f"    {self_us / 1000:7.1f} ms self  {cumulative / 1000:7.1f} ms cumulative  {module.strip()}")
    say("  ... and 5 slowest by cumulative time")
    for self_us, cumulative, module in by_cumulative:
        say(f"    {self_us / 1000:7.1f} ms self  {cumulative / 1000:7.1f} ms cumulative  {module.strip()}")
    return {"rows": rows,
            "importtime_self": [{"module": m.strip(), "self_us": s, "cumulative_us": c} for s, c, m in by_self],
            "importtime_cumulative": [{"module": m.strip(), "self_us": s, "cumulative_us": c}
                                      for s, c, m in by_cumulative]}


# ------------------------------------------ dedupe-compare, dedupe-tree, export-overhead
# In their own modules (bench_dedupe, bench_export), which get this one for its helpers.

def bench_dedupe_compare(args, work):
    import bench_dedupe
    return bench_dedupe.compare(args, work, sys.modules[__name__])


def bench_dedupe_tree(args, work):
    import bench_dedupe
    return bench_dedupe.tree(args, work, sys.modules[__name__])


def bench_export_overhead(args, work):
    import bench_export
    return bench_export.overhead(args, work, sys.modules[__name__])


def bench_proxy_encode(args, work):
    import bench_proxy
    return bench_proxy.encode(args, work, sys.modules[__name__])


def bench_farm(args, work):
    import bench_farm
    return bench_farm.farm(args, work, sys.modules[__name__])


def bench_upload(args, work):
    import bench_upload
    return bench_upload.upload(args, work, sys.modules[__name__])


# ------------------------------------------------------------------- prune

def bench_standby(args, work):
    import bench_standby
    return bench_standby.standby(args, work, sys.modules[__name__])


def bench_web(args, work):
    import bench_web
    return bench_web.web(args, work, sys.modules[__name__])


def bench_prune(args, work):
    """The pure decision of rex-prune over 100,000 backups (no file system)."""
    import datetime

    from rex.retention.policy import Policy, decide

    count = 10000 if args.quick else 100000
    start = datetime.datetime(2024, 1, 1)
    stamps = [(start + datetime.timedelta(minutes=15 * i)).strftime("%Y%m%dT%H%M%SZ") for i in range(count)]
    verified = stamps[-5]
    policy = Policy(keep_last=24, keep_within=2 * 86400.0, keep_hourly=48, keep_daily=30, keep_weekly=12,
                    keep_monthly=24, keep_yearly=10)
    kept = []

    def baseline():
        started = time.perf_counter()
        sorted(stamps, reverse=True)
        return time.perf_counter() - started

    def rex():
        started = time.perf_counter()
        decisions = decide(stamps, policy, verified)
        seconds = time.perf_counter() - started
        kept[:] = [d for d in decisions if d.keep]
        return seconds

    say(f"  {count} stamps every 15 minutes from {stamps[0]} to {stamps[-1]}; policy: {policy.describe()}")
    base_times, rex_times = alternate(max(args.runs, 3), baseline, rex)
    b, r = statistics.median(base_times), statistics.median(rex_times)
    rows = [row(f"decide over {count} backups", b, r, r / b, f"{r:.3f} s", "< 2 s", r < 2.0,
                {"baseline_runs": base_times, "rex_runs": rex_times, "kept": len(kept), "backups": count})]
    print_table("prune: the retention decision (baseline: sorting the stamps)", rows, "sort s")
    say(f"  kept {len(kept)} of {count}")
    rows.append(_prune_command(args, work, stamps))
    return {"rows": rows}


def _prune_command(args, work, stamps):
    """The whole rex-prune over one directory of len(stamps) (empty) backups, against
    `find -delete` removing the same number of files: listing, deciding, deleting."""
    directory = os.path.join(work, "prune-set")
    env = isolated_env(os.path.join(work, "prune-home"))
    argv = rex_program("rex-prune") + ["-q", "--keep-daily", "30", "--keep-monthly", "12", directory]

    def fill():
        os.makedirs(directory, exist_ok=True)
        for stamp in stamps:
            open(os.path.join(directory, f"Lib_{stamp}.backup"), "wb").close()

    def baseline():
        fill()
        seconds, _ = timed(["find", directory, "-name", "*.backup", "-delete"])
        return seconds

    removed = []

    def rex():
        fill()
        seconds, result = timed(argv, env=env)
        removed[:] = result.stdout.splitlines()
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        return seconds

    say(f"  rex-prune over {len(stamps)} files in one directory vs find -delete of as many")
    base_times, rex_times = alternate(max(args.runs, 3), baseline, rex)
    b, r = statistics.median(base_times), statistics.median(rex_times)
    say(f"  rex-prune removed {len(removed)} of {len(stamps)}")
    result = row(f"rex-prune command, {len(stamps)} files", b, r, r / b, f"{r / b:.1f}x", "(information)", True,
                 {"baseline_runs": base_times, "rex_runs": rex_times, "removed": len(removed)})
    print_table("prune: the whole command (baseline: find -delete of the same files)", [result], "find s")
    return result


# -------------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("benchmarks", nargs="*", metavar="BENCHMARK",
                        help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--level", type=int, default=6, choices=range(10), metavar="0-9",
                        help="pgdump: compression level for both sides (default 6, Rex's default)")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each side (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data under bench/out")
    parser.add_argument("--profile", action="store_true", help="export-overhead: profile rex-export even if it "
                        "meets its target")
    parser.add_argument("--out", default=os.path.join(OUT, "results.json"), help="JSON results file")
    args = parser.parse_args(argv)
    chosen = args.benchmarks or list(BENCHMARKS)
    unknown = [b for b in chosen if b not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (choose from {', '.join(BENCHMARKS)})")

    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="work-", dir=OUT) if not args.keep else os.path.join(OUT, "work")
    os.makedirs(work, exist_ok=True)
    load, note = load_note()
    say(f"Rex bench {'(quick) ' if args.quick else ''}- {platform.node()}, Python {platform.python_version()}, "
        f"{note}")
    say("Figures are wall-clock medians of alternating runs; they are noisy when the load is high.")
    if args.quick:
        say("--quick: sizes are too small for the targets (Rex's fixed start-up cost dominates); "
            "a smoke run only.")
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": args.quick,
              "runs": args.runs, "cores": os.cpu_count(), "python": sys.executable,
              "loadavg_start": load, "benchmarks": {}}
    failed = []
    funcs = {"pgdump": bench_pgdump, "verify": bench_verify, "startup": bench_startup,
             "dedupe-compare": bench_dedupe_compare, "dedupe-tree": bench_dedupe_tree,
             "export-overhead": bench_export_overhead, "proxy-encode": bench_proxy_encode, "prune": bench_prune,
             "upload": bench_upload, "standby": bench_standby, "web": bench_web, "farm": bench_farm}
    try:
        for name in BENCHMARKS:
            if name not in chosen:
                continue
            load, note = load_note()
            say()
            say(f"### {name}  ({note})")
            try:
                result = funcs[name](args, work)
            except (Failed, OSError, RuntimeError, subprocess.SubprocessError) as exc:
                say(f"!! {name} failed to run: {exc}")
                failed.append(name)
                report["benchmarks"][name] = {"error": str(exc)}
                continue
            result["loadavg"] = load
            report["benchmarks"][name] = result
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    load, note = load_note()
    report["loadavg_end"] = load
    report["failed"] = failed
    say()
    say(f"== summary ({note})")
    for name, result in report["benchmarks"].items():
        for r in result.get("rows", []):
            say(f"  {name:15s} {r['case']:40s} {r['ratio_text']:>16s}  target {r['target']:18s} "
                f"{'met' if r['met'] else 'NOT MET'}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    say(f"results written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
