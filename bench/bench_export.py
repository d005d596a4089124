"""export-overhead: rex-export against Resolve's own export time, with the simulator.

`h` is bench/run.py itself (its helpers: say, timed, alternate, row, ...).
"""

import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIM = os.path.join(ROOT, "tests", "resolve_sim")
DB = "Local Database"

# Resolve's own work: connect, then ExportProject for every project of the root folder.
BASELINE = r"""
import os, sys
sys.path.insert(0, os.path.join(os.environ["RESOLVE_SCRIPT_API"], "Modules"))
import DaVinciResolveScript as dvr
pm = dvr.scriptapp("Resolve").GetProjectManager()
out = sys.argv[1]
for name in sys.argv[2:]:
    if not pm.ExportProject(name, os.path.join(out, name + ".drp"), True):
        sys.exit("export of %s failed" % name)
"""


def _arrange(sim_state, count):
    os.environ["REX_SIM_STATE"] = sim_state
    if os.path.join(SIM, "Modules") not in sys.path:
        sys.path.insert(0, os.path.join(SIM, "Modules"))
    from _rexsim import state

    state.empty()
    names = [f"Episode {i:02d}" for i in range(count)]
    for name in names:
        state.add_project(DB, (), name)
    return names


def overhead(args, work, h):
    count = 8 if args.quick else 40
    data = os.path.join(work, "export")
    os.makedirs(data, exist_ok=True)
    sim_state = os.path.join(data, "sim.json")
    saved_env = os.environ.get("REX_SIM_STATE")
    try:
        names = _arrange(sim_state, count)
    finally:
        if saved_env is None:
            os.environ.pop("REX_SIM_STATE", None)
        else:
            os.environ["REX_SIM_STATE"] = saved_env
    plain_out = os.path.join(data, "plain")
    root = os.path.join(data, "backups")
    home = os.path.join(data, "home")
    sim_env = {"RESOLVE_SCRIPT_API": SIM, "RESOLVE_SCRIPT_LIB": os.path.join(SIM, "lib", "fusionscript.py"),
               "REX_SIM_STATE": sim_state}
    env = h.isolated_env(home, dict(sim_env, REX_BACKUP_ROOT=root))
    script = os.path.join(data, "baseline.py")
    with open(script, "w") as f:
        f.write(BASELINE)
    rex_argv = h.rex_program("rex-export") + ["--force"]
    made = {}

    def clean(_label=None):
        for d in (plain_out, root):
            shutil.rmtree(d, ignore_errors=True)
        os.makedirs(plain_out)

    def baseline():
        seconds, _ = h.timed([sys.executable, script, plain_out] + names, env=env)
        made["baseline"] = len([n for n in os.listdir(plain_out) if n.endswith(".drp")])
        return seconds

    def rex():
        seconds, result = h.timed(rex_argv, env=env)
        made["rex"] = len([p for p in result.stdout.decode().splitlines() if p.endswith(".drp")])
        return seconds

    clean()
    for func in (baseline, rex):   # warm-up: bytecode caches, the page cache
        func()
        clean()
    runs = args.runs
    h.say(f"  {count} projects: python script calling ExportProject for each   vs   rex-export --force "
          f"({runs} alternating runs each)")
    bt, rt = h.alternate(runs, baseline, rex, clean)
    b, r = statistics.median(bt), statistics.median(rt)
    per = (r - b) / count * 1000
    h.say(f"  exported: baseline {made['baseline']} files, rex-export {made['rex']} backups")
    if made["rex"] != count or made["baseline"] != count:
        raise h.Failed(f"expected {count} exports each, got {made}")
    rows = [h.row(f"{count} projects, ExportProject vs rex-export", b, r, r / b, f"{per:+.1f} ms/project",
                  "< 50 ms/project", per < 50,
                  {"baseline_runs": bt, "rex_runs": rt, "projects": count, "overhead_ms_per_project": per})]
    h.print_table(f"export-overhead: {count} simulated projects", rows)
    if per >= 50 or args.profile:
        profile(rex_argv, env, clean, h)
    return {"rows": rows}


def profile(rex_argv, env, clean, h, top=15):
    """One rex-export run under cProfile: where its time goes."""
    import pstats

    clean()
    stats_file = os.path.join(os.path.dirname(env["REX_SIM_STATE"]), "rex-export.prof")
    argv = rex_argv
    if len(argv) == 1:
        with open(argv[0]) as f:
            first = f.readline()
        argv = [first[2:].strip() if first.startswith("#!") else sys.executable, argv[0]] + argv[1:]
    argv = [argv[0], "-m", "cProfile", "-o", stats_file] + argv[1:]
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    clean()
    h.say()
    h.say(f"  rex-export --force under cProfile: {top} functions by cumulative time")
    stats = pstats.Stats(stats_file, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(top)
    h.say(f"  ... and {top} by own time")
    stats.sort_stats("tottime").print_stats(top)
