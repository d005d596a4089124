"""`make demo`: the main backup job on a throwaway PostgreSQL holding sample libraries.

Starts a private cluster on a free loopback port, fills two Resolve-shaped
project libraries, runs `rex-pgdump --all | rex-verify --report` exactly as the
timer does, shows where the backups are, and removes the cluster again.
"""

import os
import subprocess
import sys


def main(argv):
    from .pg.cluster import Cluster
    from .pg.sample import create_library

    workdir = os.path.abspath(argv[0] if argv else "demo")
    backups = os.path.join(workdir, "backups")
    os.makedirs(workdir, exist_ok=True)
    print("demo: starting a throwaway PostgreSQL cluster", file=sys.stderr)
    with Cluster() as cluster:
        for name in ("Resolve Projects", "Commercials 2026"):
            create_library(cluster, name, projects=6)
        print(f"demo: sample project libraries on 127.0.0.1:{cluster.port}", file=sys.stderr)
        env = dict(os.environ, **cluster.env(), REX_BACKUP_ROOT=backups,
                   XDG_STATE_HOME=os.path.join(workdir, "state"))
        pipeline = "rex-pgdump --all --globals | rex-verify --report"
        print(f"demo: $ {pipeline}", file=sys.stderr)
        result = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], env=env)
    if result.returncode != 0:
        print(f"demo: the pipeline failed with exit status {result.returncode}", file=sys.stderr)
        return result.returncode
    print(f"\ndemo: backups are under {backups}:", file=sys.stderr)
    for directory, _dirs, files in sorted(os.walk(backups)):
        for name in sorted(files):
            path = os.path.join(directory, name)
            print(f"  {os.path.relpath(path, workdir)}  ({os.path.getsize(path)} bytes)", file=sys.stderr)
    print(f"demo: check them yourself: cd '{backups}' && find . -name '*.md5' -execdir md5sum -c {{}} +",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
