"""`make demo`: the main jobs on an embedded default, a throwaway PostgreSQL and generated clips.

Starts a private cluster on a free loopback port, fills two Resolve-shaped
project libraries, and runs what the timers run: `rex-pgdump --all | rex-verify`.
Then the way back: the projects inside a dump (`rex-restore --list-projects`)
and the dump restored as a new library beside the original (`rex-restore --as`).
Last, proxies of a few generated clips (`proxy-encode`). Shows where everything
is, and removes the cluster again.

It lives in tools/, beside the sample data it loads (tools/sample_library.py), because
neither ships: `make demo` runs it from the checkout, with the checkout's lib/ first.
"""

import os
import shlex
import subprocess
import sys

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(CHECKOUT, "lib"), os.path.join(CHECKOUT, "tools")]

LIBRARIES = ("Resolve Projects", "Commercials 2026")
RESTORED = "Resolve Projects (restored)"


def say(text):
    print(f"demo: {text}", file=sys.stderr)


def step(command, env):
    """Run one shell pipeline as a user would type it; its exit status."""
    say(f"$ {command}")
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env).returncode


def main(argv):
    from rex.pg.cluster import Cluster
    from rex.pg.tools import newest
    from sample_library import create_library

    workdir = os.path.abspath(argv[0] if argv else "demo")
    backups = os.path.join(workdir, "backups")
    os.makedirs(workdir, exist_ok=True)
    say("starting a throwaway PostgreSQL cluster")
    with Cluster() as cluster:
        for name in LIBRARIES:
            create_library(cluster, name, projects=6)
        say(f"sample project libraries on 127.0.0.1:{cluster.port}")
        env = dict(os.environ, **cluster.env(), REX_BACKUP_ROOT=backups, PATH=_path(),
                   XDG_STATE_HOME=os.path.join(workdir, "state"), REX_PROXY_ROOT=os.path.join(workdir, "proxies"))
        if step("rex-pgdump --all --globals | rex-verify --report", env):
            return _failed("the backup pipeline")
        _list(backups, workdir)
        dump = _newest_dump(backups, LIBRARIES[0])
        if step(f"rex-restore --list-projects {shlex.quote(dump)}", env):
            return _failed("listing the projects of a dump")
        if step(f"rex-restore -v {shlex.quote(dump)} --as {shlex.quote(RESTORED)}", env):
            return _failed("the restore")
        say("both libraries are now on the server, side by side:")
        subprocess.run([newest("psql"), "-XAtc",
                        "SELECT datname FROM pg_database WHERE datname LIKE 'Resolve%' ORDER BY 1",
                        "postgres"], env=env, check=False)
    clips = _clips(os.path.join(workdir, "media"))
    if clips is None:
        say("ffmpeg is not installed: no proxy demo")
        return 0
    if step(f"proxy-encode --height quarter {' '.join(map(shlex.quote, clips))}", env):
        return _failed("proxy-encode")
    say(f"check the backups yourself: cd '{backups}' && find . -name '*.md5' -execdir md5sum -c {{}} +")
    return 0


def _path():
    """This Python first (its `python3` runs the launchers), then the checkout's bin/, then PATH."""
    checkout_bin = os.path.join(CHECKOUT, "bin")
    first = [os.path.dirname(sys.executable)] + ([checkout_bin] if os.path.isdir(checkout_bin) else [])
    return os.pathsep.join(first + [os.environ.get("PATH", "/usr/bin:/bin")])


def _failed(what):
    say(f"{what} failed")
    return 1


def _list(backups, workdir):
    say(f"backups are under {backups}:")
    for directory, _dirs, files in sorted(os.walk(backups)):
        for name in sorted(files):
            path = os.path.join(directory, name)
            print(f"  {os.path.relpath(path, workdir)}  ({os.path.getsize(path)} bytes)", file=sys.stderr)


def _newest_dump(backups, library):
    found = [os.path.join(d, n) for d, _dirs, files in os.walk(backups) for n in files
             if n.startswith(library + "_") and n.endswith(".backup")]
    return max(found)


def _clips(directory):
    """Three short clips made with ffmpeg's test sources, at the rates editors meet most."""
    import shutil

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    os.makedirs(directory, exist_ok=True)
    made = []
    for name, rate in (("A001_C001_2398.mov", "24000/1001"), ("A001_C002_25.mov", "25"),
                       ("B001_C001_2997.mov", "30000/1001")):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=1280x720:r={rate}:d=2",
                            "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-timecode", "01:00:00:00",
                            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-shortest", path],
                           check=True, stdin=subprocess.DEVNULL)
        made.append(path)
    return made


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
