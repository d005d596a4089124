"""upload: rex-upload against a plain `rclone copy` of the same files to the same
loopback remote, both started fresh in each run (a new remote path each time).

On sftp (md5 on the remote) plain rclone copy checks each file's md5 after the
transfer; rex-upload turns that off and checks every copy against its sidecar with
one listing instead, so both sides hash the data once on the remote. On webdav
(no hashes) plain rclone compares sizes only, while rex-upload downloads
everything to check it: that row shows what the download check costs, and the
row with --no-download-check what the rest of rex-upload costs.

`h` is bench/run.py itself (its helpers: say, timed, alternate, row, ...).
"""

import os
import shutil
import statistics
import sys

MB = 1000 * 1000


def upload(args, work, h):
    from data import ensure_random_file, warm

    sys.path.insert(0, os.path.join(h.ROOT, "tests"))
    from rclone_remote import Remote

    count, each = (20, 50 * MB) if not args.quick else (6, 4 * MB)
    root = os.path.join(work, "upload", "backups")
    data = os.path.join(root, "pg", "bench_5432")
    os.makedirs(data, exist_ok=True)
    h.say(f"  writing {count} x {each / MB:.0f} MB of random data with sidecars under {data}")
    names = [f"Lib {i:02d}_20260101T0000{i:02d}Z.backup" for i in range(count)]
    for name in names:
        ensure_random_file(os.path.join(data, name), each)
    warm([os.path.join(data, n) for n in names])
    rows = []
    cases = [("sftp", [], True), ("webdav", [], False), ("webdav", ["--no-download-check"], False)]
    servers = {}
    try:
        for kind, extra, target in cases:
            if kind not in servers:
                servers[kind] = Remote(kind, os.path.join(work, "upload", kind)).start()
            rows.append(_case(args, h, servers[kind], root, data, count, extra, target))
    finally:
        for server in servers.values():
            server.stop()
    h.print_table(f"upload: {count} x {each / MB:.0f} MB to rclone serve on 127.0.0.1 "
                  "(baseline: plain rclone copy)", rows, "rclone s")
    if not args.keep:
        shutil.rmtree(os.path.join(work, "upload"), ignore_errors=True)
    return {"rows": rows}


def _case(args, h, server, root, data, count, extra, target):
    env = h.isolated_env(os.path.join(server.base, "rex-home"),
                         {"REX_BACKUP_ROOT": root, "RCLONE_CONFIG": server.conf})
    rclone_env = dict(os.environ, RCLONE_CONFIG=server.conf)
    rex_upload = h.rex_program("rex-upload")
    h.timed(rex_upload + ["--help"], env=env)   # fills the bytecode cache
    serial = [0]

    def fresh(label):
        serial[0] += 1
        return f"{label}-{serial[0]}"

    def baseline():
        path = fresh("plain")
        seconds, _ = h.timed(["rclone", "copy", data, f"{server.name}:{path}/pg/bench_5432"], env=rclone_env)
        return seconds

    def rex():
        path = fresh("rex")
        seconds, result = h.timed(rex_upload + ["-r", f"{server.name}:{path}", "--sync", data, *extra], env=env)
        printed = result.stdout.decode("utf-8", "replace").splitlines()
        if len(printed) != count:
            raise h.Failed(f"rex-upload printed {len(printed)} of {count} paths")
        return seconds

    def cleanup(_label):
        for entry in os.listdir(server.dir):
            shutil.rmtree(os.path.join(server.dir, entry), ignore_errors=True)

    label = f"{server.kind}{' ' + ' '.join(extra) if extra else ''}"
    h.say(f"  {label}: rclone copy DIR REMOTE  vs  rex-upload --sync DIR -r REMOTE {' '.join(extra)} "
          f"({args.runs} alternating runs each)")
    base_times, rex_times = h.alternate(args.runs, baseline, rex, cleanup)
    b, r = statistics.median(base_times), statistics.median(rex_times)
    ratio = r / b
    return h.row(f"{label}", b, r, ratio, f"{ratio:.3f}x", "rex/base <= 1.1" if target else "(information)",
                 ratio <= 1.1 if target else True, {"baseline_runs": base_times, "rex_runs": rex_times,
                                                    "files": count})
