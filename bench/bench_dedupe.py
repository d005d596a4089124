"""dedupe-compare and dedupe-tree: rex-dedupe's content comparison against md5sum.

`h` is bench/run.py itself (its helpers: say, timed, alternate, row, ...).
"""

import os
import shutil
import statistics
import subprocess
import sys
import time

MB = 1000 * 1000


def compare(args, work, h):
    import drpgen
    from rex.backups import drp

    target = (8 if args.quick else 50) * MB
    data = os.path.join(work, "dedupe-compare")
    os.makedirs(data, exist_ok=True)
    first = os.path.join(data, "Feature_20261120T183000Z.drp")
    second = os.path.join(data, "Feature_20261121T183000Z.drp")
    started = time.perf_counter()
    src = drpgen.fixture("compound")
    h.say(f"  growing {os.path.basename(src)} to {target / MB:.0f} MB with timelines like its own ...")
    added = drpgen.grow(src, first, target, seed=1)
    drpgen.reexport(first, second, seed=7)
    h.say(f"  {os.path.basename(first)} {os.path.getsize(first) / MB:.1f} MB ({added} timelines added), "
          f"re-exported as {os.path.basename(second)} {os.path.getsize(second) / MB:.1f} MB "
          f"(built in {time.perf_counter() - started:.0f} s)")
    subprocess.run(["cat", first, second], stdout=subprocess.DEVNULL, check=True)   # into the page cache
    runs = args.runs
    digests = {}

    def baseline():
        seconds, result = h.timed(["md5sum", first, second])
        sums = [line.split()[0] for line in result.stdout.decode().splitlines()]
        digests["md5_equal"] = len(set(sums)) == 1
        return seconds

    def rex_both():
        h.LAST_CPU[0] = 0.0
        before = os.times()
        started = time.perf_counter()
        a = drp.canonical_digest(first)
        b = drp.canonical_digest(second)
        seconds = time.perf_counter() - started
        after = os.times()
        h.LAST_CPU[0] = (after.user - before.user) + (after.system - before.system)
        digests["a"], digests["b"] = a, b
        return seconds

    one_times = []

    def rex_one():
        started = time.perf_counter()
        drp.canonical_digest(second)
        one_times.append(time.perf_counter() - started)

    rex_both()   # warm-up: imports, the regex caches
    h.say(f"  md5sum A B   vs   rex.backups.drp.canonical_digest(A) + canonical_digest(B) in this process "
          f"({runs} alternating runs each)")
    bt, rt = h.alternate(runs, baseline, rex_both, after_each=lambda label: label == "rex" and rex_one())
    b, r = statistics.median(bt), statistics.median(rt)
    one = statistics.median(one_times)
    equal = digests["a"] == digests["b"]
    h.say(f"  canonical digests equal: {'yes' if equal else 'NO'} ({digests['a'][:16]}... vs "
          f"{digests['b'][:16]}...); md5 equal: {'yes' if digests['md5_equal'] else 'no'} "
          "(the byte comparison cannot dedupe them)")
    extra = {"baseline_runs": bt, "rex_runs": rt, "bytes": [os.path.getsize(first), os.path.getsize(second)],
             "timelines_added": added, "digests_equal": equal, "md5_equal": digests["md5_equal"]}
    size = os.path.getsize(first) / MB
    rows = [h.row(f"2 x {size:.0f} MB .drp, cold (both digests)", b, r, r / b, f"{r / b:.1f}x md5sum", "< 1.5 s",
                  r < 1.5 and equal, extra),
            h.row(f"1 x {size:.0f} MB .drp (earlier one cached)", b, one, one / b, f"{one / b:.1f}x md5sum", "(steady state)",
                  equal, {"rex_runs": one_times})]
    h.print_table(f"dedupe-compare: two exports of one project, {os.path.getsize(first) / MB:.1f} MB and "
                  f"{os.path.getsize(second) / MB:.1f} MB", rows, "md5sum s")
    if not equal:
        h.say("  !! the canonical digests differ: rex-dedupe would not link the re-export")
    return {"rows": rows}


def _stamp(project_index, export_index):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(1_790_000_000 + export_index * 86400 + project_index * 60))


def build_tree(root, projects, exports, change_every, progress=None):
    """projects x exports backups; returns (files, expected links, expected bytes saved)."""
    import drpgen
    from rex.checksum import md5_file, write_sidecar

    scratch = os.path.join(root, ".sources")
    os.makedirs(scratch)
    files, expected_links, expected_saved = [], 0, 0
    for p in range(projects):
        name = f"Project{p:02d}"
        directory = os.path.join(root, name)
        os.makedirs(directory)
        source = os.path.join(scratch, f"{name}-0.drp")
        drpgen.reexport(drpgen.FIXTURES[p % len(drpgen.FIXTURES)], source, seed=10_000 + p)
        for e in range(exports):
            changed = e > 0 and change_every and (p * 7 + e) % change_every == 0
            if changed:   # the user edited the project since the last export
                edited = os.path.join(scratch, f"{name}-{e}.drp")
                drpgen.edit(source, edited, step=e)
                source = edited
            path = os.path.join(directory, f"{name}_{_stamp(p, e)}.drp")
            drpgen.reexport(source, path, seed=p * 1000 + e)
            write_sidecar(path, md5_file(path))
            files.append(path)
            if e > 0 and not changed:
                expected_links += 1
                expected_saved += os.path.getsize(path)
        if progress and (p + 1) % 10 == 0:
            progress(f"    {p + 1}/{projects} projects written")
    shutil.rmtree(scratch)
    return files, expected_links, expected_saved


def sidecar_ok(path):
    """md5sum -c, run where the sidecar is: its digest is that of what `path` now holds."""
    result = subprocess.run(["md5sum", "-c", "--quiet", "--strict", os.path.basename(path) + ".md5"],
                            cwd=os.path.dirname(path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return result.returncode == 0


def tree(args, work, h):
    projects, exports = (10, 5) if args.quick else (50, 10)
    data = os.path.join(work, "dedupe-tree")
    pristine = os.path.join(data, "pristine")
    live = os.path.join(data, "backups")
    os.makedirs(pristine, exist_ok=True)
    started = time.perf_counter()
    h.say(f"  writing {projects} projects x {exports} exports (re-exports of the fixtures, some edited "
          "between exports) with sidecars ...")
    files, expected, expected_saved = build_tree(pristine, projects, exports, change_every=4, progress=h.say)
    total = sum(os.path.getsize(f) for f in files)
    h.say(f"  {len(files)} backups, {total / MB:.1f} MB (built in {time.perf_counter() - started:.0f} s); "
          f"{expected} are unchanged since the export before")
    rel = [os.path.relpath(f, pristine) for f in files]
    runs = args.runs
    outcome = {}

    def fresh_copy():
        shutil.rmtree(live, ignore_errors=True)
        subprocess.run(["cp", "-a", pristine, live], check=True)
        subprocess.run(["cat"] + [os.path.join(live, f) for f in rel], stdout=subprocess.DEVNULL, check=True)

    def baseline():
        return h.timed(["md5sum", "--"] + rel, cwd=live)[0]

    def rex():
        home = os.path.join(data, "home")
        shutil.rmtree(home, ignore_errors=True)   # cold: no digest cached in the state directory
        env = h.isolated_env(home)
        seconds, result = h.timed(h.rex_program("rex-dedupe") + ["-v", "--tree", live], env=env)
        links = [os.path.join(live, f) for f in rel if os.path.islink(os.path.join(live, f))]
        outcome["linked"] = len(links)
        outcome["saved"] = sum(os.path.getsize(os.path.join(pristine, os.path.relpath(f, live))) for f in links)
        outcome["log"] = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        outcome["sidecars_ok"] = all(sidecar_ok(os.path.join(live, f)) for f in rel)
        return seconds

    fresh_copy()
    h.say(f"  md5sum over the {len(files)} files   vs   rex-dedupe -v --tree DIR (fresh copy of the tree and an "
          f"empty XDG_STATE_HOME each run; {runs} alternating runs each)")
    bt, rt = h.alternate(runs, baseline, rex, after_each=lambda label: label == "rex" and fresh_copy())
    b, r = statistics.median(bt), statistics.median(rt)
    h.say(f"  rex-dedupe linked {outcome['linked']} of {len(files)} backups (expected {expected}), saved "
          f"{outcome['saved'] / MB:.1f} MB of {total / MB:.1f} MB (expected {expected_saved / MB:.1f} MB); "
          f"sidecars all verify after: {'yes' if outcome['sidecars_ok'] else 'NO'}")
    if outcome["log"]:
        h.say(f"  its last log line: {outcome['log'][0]}")
    ok = outcome["linked"] == expected and outcome["sidecars_ok"]
    rows = [h.row(f"{len(files)} backups, md5sum vs rex-dedupe --tree", b, r, r / b, f"{r / b:.1f}x md5sum",
                  "< 60 s", r < 60 and ok,
                  {"baseline_runs": bt, "rex_runs": rt, "files": len(files), "bytes": total,
                   "linked": outcome["linked"], "expected_links": expected, "saved_bytes": outcome["saved"],
                   "expected_saved_bytes": expected_saved, "sidecars_ok": outcome["sidecars_ok"]})]
    h.print_table(f"dedupe-tree: {projects} projects x {exports} exports, {total / MB:.1f} MB", rows, "md5sum s")
    return {"rows": rows}


if __name__ == "__main__":
    sys.exit("run through bench/run.py")
