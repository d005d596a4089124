#!/usr/bin/env python3
"""rexd: what the daemon costs while it waits, how fast it is ready, how punctual it is.

    bench/rexd.py [--quick] [--idle-seconds N] [--runs N]

  idle     CPU time (user + system, from /proc) of rexd with 10 jobs scheduled, none due,
           over --idle-seconds (default 120; 600 is the issue's full 10 minutes), and
           extrapolated to 10 minutes; the target is under 0.1 s of CPU in 10 minutes.
           Also its wake-ups (voluntary context switches) in that window.
  ready    wall time from starting rexd to READY=1 on a notify socket (median of 10),
           against `python -c pass` started the same way.
  jitter   --runs (default 100) runs of a job `every 1 seconds` (the test hook
           REX_DAEMON_TEST_SECONDS): the job's first instruction writes the time, and
           start - due is the lateness (p50, p99, max), against the start-up of
           `bash -c 'date +%s.%N'` alone.

Figures are printed, never asserted; they also go to bench/out/rexd.json. The load
average is printed: on a shared machine the figures are noisy when it is high.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))       # notifysocket: the real socket the tests use
TICK = os.sysconf("SC_CLK_TCK")


def say(text=""):
    print(text, flush=True)


def env_for(base, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "REX_", "XDG_", "NOTIFY_", "WATCHDOG_"))}
    for sub in ("config", "state"):
        os.makedirs(os.path.join(base, sub, "rex") if sub == "config" else os.path.join(base, sub), exist_ok=True)
    env.update(XDG_CONFIG_HOME=os.path.join(base, "config"), XDG_STATE_HOME=os.path.join(base, "state"),
               LC_ALL="C.UTF-8", REX_DAEMON_TEST_SECONDS="1", **extra)
    return env


def configure(env, text):
    with open(os.path.join(env["XDG_CONFIG_HOME"], "rex", "rex.yaml"), "w") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))


def rexd(env, **kw):
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "bin", "rexd")], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, **kw)


def cpu_and_wakeups(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK          # utime + stime
    with open(f"/proc/{pid}/status") as f:
        switches = next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))
    return cpu, switches


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def far_jobs():
    """10 jobs in several zones and forms, none due within the next hours."""
    hour = (time.gmtime().tm_hour + 12) % 24
    zones = ["UTC", "in Europe/Paris", "in America/New_York", "in Asia/Kolkata", "in Australia/Sydney"]
    lines = []
    for n in range(10):
        when = (f"daily at {hour:02d}:{n * 5:02d} {zones[n % 5]}" if n < 5 else
                f"weekly on {['mon', 'tue', 'wed', 'thu', 'fri'][n - 5]} at {hour:02d}:30 {zones[n % 5]}")
        lines.append(f"    - {{name: job{n}, when: {when}, run: 'true'}}")
    lines.append("    - {name: follower, after: job0, run: 'true'}")
    return "daemon:\n  jobs:\n" + "\n".join(lines) + "\n"


def bench_idle(work, seconds):
    from notifysocket import NotifySocket

    sock = NotifySocket()
    env = env_for(os.path.join(work, "idle"), **sock.env())
    configure(env, far_jobs())
    proc = rexd(env, stderr=subprocess.DEVNULL)
    try:
        sock.wait_for("READY", "1")
        time.sleep(1)
        cpu0, wake0 = cpu_and_wakeups(proc.pid)
        time.sleep(seconds)
        cpu1, wake1 = cpu_and_wakeups(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        sock.close()
    used = cpu1 - cpu0
    per10 = used * 600 / seconds
    say(f"  idle, 10 jobs (+1 after), {seconds:.0f} s: CPU {used:.3f} s, {wake1 - wake0} wake-ups; "
        f"10 min: {per10:.3f} s {'(extrapolated)' if seconds < 600 else ''} (target < 0.1 s: "
        f"{'met' if per10 < 0.1 else 'NOT met'}; /proc counts in 1/{TICK} s)")
    return {"window_s": seconds, "cpu_s": used, "wakeups": wake1 - wake0, "cpu_per_10min_s": per10,
            "extrapolated": seconds < 600, "target_s": 0.1, "met": per10 < 0.1}


def bench_ready(work, count=10):
    from notifysocket import NotifySocket

    env = env_for(os.path.join(work, "ready"))
    configure(env, far_jobs())
    readies, bases = [], []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bases.append(time.perf_counter() - started)
        sock = NotifySocket()
        started = time.perf_counter()
        proc = rexd(dict(env, **sock.env()), stderr=subprocess.DEVNULL)
        sock.wait_for("READY", "1")
        readies.append(time.perf_counter() - started)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        sock.close()
    ready, base = statistics.median(readies), statistics.median(bases)
    say(f"  start-up to READY: median {ready * 1000:.0f} ms (python -c pass: {base * 1000:.0f} ms; "
        f"min {min(readies) * 1000:.0f}, max {max(readies) * 1000:.0f} ms over {count})")
    return {"ready_median_s": ready, "ready_min_s": min(readies), "ready_max_s": max(readies),
            "python_pass_median_s": base, "count": count}


def bench_jitter(work, runs):
    log = os.path.join(work, "jitter.log")
    env = env_for(os.path.join(work, "jitter"))
    configure(env, f"""
        daemon:
          jobs:
            - {{name: tick, when: every 1 seconds, run: 'date +%s.%N >> {log}'}}
    """)
    proc = rexd(env, stderr=subprocess.DEVNULL)
    try:
        while not os.path.exists(log) or len(open(log).read().split()) < runs + 1:
            time.sleep(0.2)
            if proc.poll() is not None:
                raise SystemExit("rexd ended")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    starts = [float(t) for t in open(log).read().split()][1:runs + 1]        # the first may be a catch-up
    late = [(t - int(t)) * 1000 for t in starts]                              # due on each whole second
    base = []
    for _ in range(20):
        before = time.time()
        out = subprocess.run(["bash", "-c", "date +%s.%N"], capture_output=True, text=True).stdout
        base.append((float(out) - before) * 1000)
    summary = {"runs": len(late), "p50_ms": percentile(late, 50), "p99_ms": percentile(late, 99),
               "max_ms": max(late), "bash_date_p50_ms": percentile(base, 50)}
    say(f"  jitter over {len(late)} runs (start - due): p50 {summary['p50_ms']:.1f} ms, "
        f"p99 {summary['p99_ms']:.1f} ms, max {summary['max_ms']:.1f} ms "
        f"(of which bash + date start-up alone: p50 {summary['bash_date_p50_ms']:.1f} ms)")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 s idle, 20 jitter runs")
    parser.add_argument("--idle-seconds", type=float)
    parser.add_argument("--runs", type=int)
    args = parser.parse_args()
    idle = args.idle_seconds or (30 if args.quick else 120)
    runs = args.runs or (20 if args.quick else 100)
    load = os.getloadavg()
    say(f"rexd bench; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="rex-bench-rexd-") as work:
        results = {"ready": bench_ready(work), "jitter": bench_jitter(work, runs), "idle": bench_idle(work, idle),
                   "load": load}
    out = os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "rexd.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
