"""standby: a primary and a standby from initdb on loopback, cloned by rex-standby.

- replay lag under a load shaped like Resolve's (many small transactions, one row
  each, from several sessions): p50/p99 of pg_stat_replication.replay_lag in ms,
  sampled every 20 ms while the load runs;
- catch-up: the standby stopped while MB of rows are written, then started; seconds
  until it has replayed everything (baseline: the time the writes took);
- `rex-standby status` wall time against `python -c pass` (target under 0.3 s).

`h` is bench/run.py itself (its helpers: say, timed, alternate, row, ...).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else float("nan")


def standby(args, work, h):
    from rex.pg.cluster import Cluster, free_port

    rows = []
    with Cluster() as primary:
        env = h.isolated_env(os.path.join(work, "standby-env"), primary.env())
        rex = h.rex_program("rex-standby")
        prepare = rex + ["prepare", "--standby-address", "127.0.0.1", "--role", primary.superuser, "--apply"]
        subprocess.run(prepare, env=env, check=True, capture_output=True)
        node = Cluster()
        node.base = tempfile.mkdtemp(prefix="rex-bench-standby-")
        os.chmod(node.base, 0o755)
        node.port = free_port()
        try:
            shutil.copy(primary.passfile, node.passfile)
            os.makedirs(node.sockdir)
            if node.user is not None:
                os.chown(node.sockdir, node.user.pw_uid, node.user.pw_gid)
            h.timed(rex + ["clone", node.datadir, "--start", "--standby-port", str(node.port)], env=env)
            node.running = True
            primary.psql("CREATE TABLE edits (id serial PRIMARY KEY, project int, body text, at timestamptz)")
            sessions, per = (4, 3000) if args.quick else (4, 25000)
            samples, done = [], threading.Event()

            def sample():
                while not done.is_set():
                    out = primary.psql("SELECT extract(epoch FROM replay_lag) * 1000 FROM pg_stat_replication")
                    samples.extend(float(v) for v in out.split() if v)
                    time.sleep(0.02)

            sql = "".join(f"INSERT INTO edits (project, body, at) VALUES ({i % 40}, repeat('x', 200), now());\n"
                          for i in range(per))
            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.perf_counter()
            writers = [threading.Thread(target=primary.psql, args=(sql,)) for _ in range(sessions)]
            for w in writers:
                w.start()
            for w in writers:
                w.join()
            load_s = time.perf_counter() - started
            done.set()
            sampler.join()
            p50, p99 = _percentile(samples, 50), _percentile(samples, 99)
            h.say(f"  {sessions * per} transactions in {load_s:.1f} s; replay lag p50 {p50:.1f} ms, "
                  f"p99 {p99:.1f} ms ({len(samples)} samples)")
            rows.append(h.row("replay lag p99 (ms) under load", None, p99 / 1000, p99, f"{p99:.1f} ms",
                              "< 1000 ms", p99 < 1000, {"p50_ms": p50, "samples": len(samples)}))
            size_mb = 20 if args.quick else 200
            node.stop()
            started = time.perf_counter()
            primary.psql(f"INSERT INTO edits (project, body, at) SELECT 0, repeat('y', 1000), now() "
                         f"FROM generate_series(1, {size_mb * 900})")
            write_s = time.perf_counter() - started
            target = primary.psql("SELECT pg_current_wal_lsn()").strip()
            node.start()
            started = time.perf_counter()
            while node.psql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'").strip() != "t":
                time.sleep(0.05)
            catch_up = time.perf_counter() - started
            h.say(f"  {size_mb} MB written in {write_s:.1f} s with the standby stopped; caught up in {catch_up:.1f} s")
            rows.append(h.row(f"catch-up after {size_mb} MB", write_s, catch_up, catch_up / write_s,
                              f"{catch_up / write_s:.2f}x writes", "information", True))
            base, mine = h.alternate(args.runs, lambda: h.timed([sys.executable, "-c", "pass"], env=env)[0],
                                     lambda: h.timed(rex + ["status"], env=env)[0])
            b, r = statistics.median(base), statistics.median(mine)
            rows.append(h.row("rex-standby status", b, r, r, f"{r:.3f} s", "< 0.3 s", r < 0.3))
        finally:
            node.remove()
    h.print_table("standby", rows)
    return {"rows": rows}
