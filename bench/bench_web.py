"""web: rex-web over a large tree: 100,000 backups in 2,000 sets (--quick: 10,000 in 200).

The tree is synthetic but real to every reader: backup names with stamps, md5 sidecars,
library dumps (`.backup`) under server directories and project exports (`.drp`) under
library/project directories, the newest backup of most sets verified in rex-verify's
ledger (some failed), a run history of 500 runs. Measured, with the real command
serving it on loopback:

- cold start: from exec to listening (READY), and to the first full inventory (the first
  /api/v1/sets answer); baseline: a bare os.walk of the same tree in a fresh Python;
- warm latency, p50 and p99 over N sequential requests on one connection, of
  /api/v1/sets (all sets, JSON) and / (the page), against /api/v1/openapi.json (a constant
  document: the HTTP floor); target p99 < 100 ms. "polled": the same request again and
  again (answered from the last second's answer but once a second); "computed": a new
  sort order each time, so that every answer is computed;
- memory held: VmRSS and VmHWM of the server after the warm requests.

`h` is bench/run.py itself (its helpers: say, row, print_table, isolated_env, ...).
"""

import hashlib
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time


SORTS = [s for k in ("state", "name", "library", "project", "kind", "newest", "age", "count", "bytes", "saved_bytes")
         for s in (k, "-" + k)]


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def make_tree(root, sets, per_set, now):
    """`sets` sets of `per_set` backups each, hourly stamps ending about now; (paths of the newest
    backup of each set)."""
    from rex.paths import stamp

    newest = []
    for i in range(sets):
        if i % 2:
            directory = os.path.join(root, f"db{i % 7}.studio_5432", f"Library {i:04d}")
            name, ext = f"Library {i:04d}", ".backup"
        else:
            directory = os.path.join(root, f"Library {i % 40:02d}", f"Show {i:04d}")
            name, ext = f"Show {i:04d}", ".drp"
        os.makedirs(directory, exist_ok=True)
        # most sets fresh; one in ten last written a month ago (STALE)
        end = now - (30 * 86400 if i % 10 == 3 else 600)
        for k in range(per_set):
            when = time.gmtime(end - (per_set - 1 - k) * 3600)
            path = os.path.join(directory, f"{name}_{stamp_of(when)}{ext}")
            data = f"{name} {k}\n".encode()
            with open(path, "wb") as f:
                f.write(data)
            with open(path + ".md5", "w") as f:
                f.write(f"{hashlib.md5(data).hexdigest()}  {os.path.basename(path)}\n")
        newest.append(path)
    del stamp
    return newest


def stamp_of(when):
    return time.strftime("%Y%m%dT%H%M%SZ", when)


def record_state(state, newest):
    """rex-verify's ledger: the newest backup of most sets verified, a few failed, some never;
    a run history of 500 runs."""
    from rex.backups.verify import Checker, VerificationLedger
    from rex.monitor.event import make
    from rex.monitor.history import DB_NAME, RunHistory

    class SidecarChecker(Checker):
        def check_format(self, path):
            return "checksum"

    ledger = VerificationLedger(state)
    for i, path in enumerate(newest):
        if i % 10 == 7:
            continue                               # never verified: UNVERIFIED
        if i % 50 == 11:
            with open(path, "ab") as f:            # damaged after its sidecar: FAILED
                f.write(b"x")
        ledger.record(SidecarChecker().check(path))
    ledger.close()
    history = RunHistory(os.path.join(state, DB_NAME))
    for i in range(250):
        job = ("rex-pgdump", "rex-verify", "rex-upload", "rex-export")[i % 4]
        host = f"bay{i % 12}"
        history.record(make(job, "start", host=host, run_id=f"run-{i}"))
        end = "failure" if i % 17 == 0 else "success"
        history.record(make(job, end, exit_status=1 if end == "failure" else 0, host=host, run_id=f"run-{i}",
                            log_tail="pg_dump: error: connection lost\n" * 5 if end == "failure" else ""))
    history.close()


class Server:
    def __init__(self, h, env):
        self.argv = h.rex_program("rex-web") + ["--listen", "127.0.0.1:0"]
        self.env = env

    def start(self):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            match = re.search(r"listening on http://([\d.]+):(\d+)/", line)
            if match:
                self.listening = time.perf_counter() - self.started
                self.host, self.port = match.group(1), int(match.group(2))
                threading.Thread(target=self.proc.stderr.read, daemon=True).start()
                return self
        raise RuntimeError(f"rex-web did not start (exit {self.proc.wait()})")

    def get(self, conn, path):
        conn.request("GET", path)
        answer = conn.getresponse()
        body = answer.read()
        if answer.status not in (200, 503):
            raise RuntimeError(f"{path}: HTTP {answer.status}: {body[:200]!r}")
        return body

    def memory(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM")}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def web(args, work, h):
    sets, per_set = (200, 50) if args.quick else (2000, 50)
    requests = 50 if args.quick else 200
    base = os.path.join(work, "web")
    root = os.path.join(base, "backups")
    env = h.isolated_env(base, {"REX_BACKUP_ROOT": root})
    state = os.path.join(env["XDG_STATE_HOME"], "rex")
    os.makedirs(state, exist_ok=True)
    h.say(f"  building {sets * per_set:,} backups in {sets:,} sets (and their sidecars) ...")
    started = time.perf_counter()
    newest = make_tree(root, sets, per_set, time.time())
    record_state(state, newest)
    h.say(f"  tree built in {time.perf_counter() - started:.1f} s")

    walk = [sys.executable, "-c", "import os, sys\nn = 0\nfor _d, _s, files in os.walk(sys.argv[1]): n += len(files)"
            "\nprint(n)", root]
    walks, colds, listens = [], [], []
    for i in range(3):
        walks.append(h.timed(walk, env=env)[0])
        server = Server(h, env).start()
        try:
            conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
            body = server.get(conn, "/api/v1/sets")
            colds.append(time.perf_counter() - server.started)
            listens.append(server.listening)
        finally:
            server.stop()
        h.say(f"    run {i + 1}/3 os.walk {walks[-1]:.3f} s, rex-web listening {listens[-1]:.3f} s, "
              f"first inventory {colds[-1]:.3f} s")
    count = body.count(b'"id"')

    server = Server(h, env).start()
    try:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
        server.get(conn, "/api/v1/sets")
        latency, sizes = {}, {}
        # "polled": the same request back to back, as dashboards and checkers send it (rex-web
        # computes it at most once a second); "computed": every request a new one (the sort
        # changes each time, among 20 orders of the same sets), so every answer is computed.
        cases = [("polled", path, lambda i, path=path: path)
                 for path in ("/api/v1/openapi.json", "/api/v1/sets", "/", "/api/v1/health")]
        cases += [("computed", path, lambda i, path=path: f"{path}?sort={SORTS[i % len(SORTS)]}")
                  for path in ("/api/v1/sets", "/")]
        cases += [("computed", "/api/v1/sets?state=FAILED",
                   lambda i: f"/api/v1/sets?state=FAILED&sort={SORTS[i % len(SORTS)]}")]
        for kind, path, url in cases:
            times, last = [], {}
            for i in range(requests):
                if kind == "computed":     # never the same request within rex-web's second
                    wait = last.get(url(i), -9) + 1.1 - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                    last[url(i)] = time.perf_counter()
                t = time.perf_counter()
                body = server.get(conn, url(i))
                times.append(time.perf_counter() - t)
            latency[(kind, path)] = times
            sizes[(kind, path)] = len(body)
            h.say(f"    {kind:8s} {path:28s} p50 {statistics.median(times) * 1000:7.1f} ms  "
                  f"p99 {_percentile(times, 99) * 1000:7.1f} ms  ({len(body):,} bytes)")
        memory = server.memory()
    finally:
        server.stop()

    floor = latency[("polled", "/api/v1/openapi.json")]
    rows = [h.row("cold: os.walk vs first inventory", statistics.median(walks), statistics.median(colds),
                  statistics.median(colds) / statistics.median(walks),
                  f"{statistics.median(colds) / statistics.median(walks):.1f}x", "for information", True,
                  {"listening_s": statistics.median(listens), "sets": count})]
    for key in latency:
        if key[1] == "/api/v1/openapi.json":
            continue
        p50, p99 = statistics.median(latency[key]), _percentile(latency[key], 99)
        rows.append(h.row(f"{key[0]} {key[1]}", _percentile(floor, 99), p99, p99 / _percentile(floor, 99),
                          f"p50 {p50 * 1000:.1f} ms", "p99 < 0.100 s", p99 < 0.100,
                          {"p50_s": p50, "p99_s": p99, "bytes": sizes[key]}))
    h.print_table(f"rex-web over {sets * per_set:,} backups in {sets:,} sets "
                  f"(baseline: os.walk / the openapi document)", rows)
    h.say(f"  listening after {statistics.median(listens):.3f} s; memory held after the warm requests: "
          f"RSS {memory['VmRSS'] / 2**20:.1f} MiB (peak {memory['VmHWM'] / 2**20:.1f} MiB)")
    return {"rows": rows, "memory": memory, "backups": sets * per_set, "sets": sets}
