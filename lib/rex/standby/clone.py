"""Cloning a standby with pg_basebackup: argv and configuration as data (pure), then
the run, which works in a hidden sibling directory and renames it into place only when
whole, so a failed or killed clone never leaves a directory that looks usable."""

import contextlib
import dataclasses
import os
import shutil
import tempfile

from ..errors import CantCreate, Unavailable

PASSFILE = "rex-standby.pgpass"     # inside the data directory, 0600, named by primary_conninfo
PACKAGES = "postgresql-{major} (Debian/Ubuntu), postgresql{major}-server (RHEL), postgresql@{major} (Homebrew)"


def basebackup_argv(program, target, slot, progress=False):
    """pg_basebackup argv; connection settings travel in the libpq environment."""
    argv = [program, "-D", target, "-X", "stream", "-S", slot, "-R", "-c", "fast", "-w", "--no-sync"]
    return argv + (["-P"] if progress else [])


def conninfo_quote(value):
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def primary_conninfo(host, port, user, passfile, application_name="rex_standby"):
    """The conninfo a standby streams with: the password only through its passfile."""
    parts = [("host", host), ("port", port), ("user", user), ("passfile", passfile),
             ("application_name", application_name)]
    return " ".join(f"{k}={conninfo_quote(v)}" for k, v in parts if v not in (None, ""))


def conf_quote(text):
    return "'" + text.replace("'", "''") + "'"


def rewrite_auto_conf(text, conninfo):
    """postgresql.auto.conf with pg_basebackup's primary_conninfo (which holds whatever
    password libpq used) replaced by ours."""
    kept = [line for line in text.splitlines() if not line.strip().startswith("primary_conninfo")]
    return "\n".join(kept + [f"primary_conninfo = {conf_quote(conninfo)}"]) + "\n"


def partial_dir(target):
    parent, name = os.path.split(os.path.abspath(target))
    return os.path.join(parent, f".{name}.rex-partial")


def check_target(target):
    """DIR must be absent or an empty directory."""
    if os.path.lexists(target) and not (os.path.isdir(target) and not os.listdir(target)):
        raise CantCreate(f"{target}: exists and is not an empty directory")


def find_basebackup(major):
    """pg_basebackup of the primary's major version (a standby must run the same major)."""
    from ..pg import tools

    for dump in tools.candidates():
        program = os.path.join(os.path.dirname(dump), "pg_basebackup")
        if tools.version_of(dump) == major and os.access(program, os.X_OK):
            if os.access(os.path.join(os.path.dirname(program), "postgres"), os.X_OK):
                return program
    raise Unavailable(f"no PostgreSQL {major} server programs found (pg_basebackup, postgres); "
                      f"install {PACKAGES.format(major=major)}")


def write_secret(path, text, owner=None):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def passfile_line(user, password):
    esc = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:{user.replace(':', chr(92) + ':')}:{esc}\n"


@contextlib.contextmanager
def session(server, password):
    """`server` reaching the primary with `password` through a private 0600 passfile
    (libpq never sees it in argv or in the environment of pg_basebackup)."""
    if password is None:
        yield server
        return
    work = tempfile.mkdtemp(prefix="rex-standby-")
    try:
        path = os.path.join(work, "pgpass")
        write_secret(path, passfile_line(server.user or os.environ.get("PGUSER") or "postgres", password))
        yield dataclasses.replace(server, passfile=path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def clone(server, target, slot, major, owner=None, progress=False):
    """Clone the primary into `target` (absent or empty); returns the standby's passfile."""
    import subprocess

    from ..fsutil import makedirs
    from ..pg.server import classify
    from ..runner import run

    check_target(target)
    program = find_basebackup(major)
    target = os.path.abspath(target)
    work = partial_dir(target)
    shutil.rmtree(work, ignore_errors=True)          # a killed run's leftover
    makedirs(os.path.dirname(target))
    passfile = os.path.join(target, PASSFILE)
    env = server.env()
    source = server.passfile or os.environ.get("PGPASSFILE")
    if server.passfile:
        env["PGPASSWORD"] = None
    try:
        result = run(basebackup_argv(program, work, slot, progress), env=env, timeout=24 * 3600,
                     stdout=None if progress else subprocess.PIPE)
        if not result.ok:
            raise classify(result.stderr, "pg_basebackup")
        auto = os.path.join(work, "postgresql.auto.conf")
        with open(auto) as f:
            text = f.read()
        host = server.host or os.environ.get("PGHOST") or "localhost"
        port = server.port or os.environ.get("PGPORT") or 5432
        user = server.user or os.environ.get("PGUSER")
        with open(auto, "w") as f:
            f.write(rewrite_auto_conf(text, primary_conninfo(host, port, user, passfile if source else None)))
        if source:
            with open(source) as f:
                write_secret(os.path.join(work, PASSFILE), f.read())
        os.chmod(work, 0o700)
        if owner is not None:
            for root, dirs, files in os.walk(work):
                for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                    os.lchown(name, owner.pw_uid, owner.pw_gid)
        if os.path.isdir(target):
            os.rmdir(target)
        os.rename(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return passfile


def owner(name=None):
    """The OS user a cloned data directory belongs to: `name`, or as root postgres."""
    import pwd

    if name is None and os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name or os.environ.get("REX_PG_OS_USER") or "postgres")
    except KeyError:
        raise Unavailable(f"no such user: {name or 'postgres'} (give --owner)") from None
