"""rex-pgdump: dump Resolve's PostgreSQL project libraries, one verified file each."""

import os

import click

from .. import errors, log
from ..cli import rex_command


@rex_command(
    "rex-pgdump",
    config_keys={"host": "pgdump.host", "port": "pgdump.port", "username": "pgdump.username",
                 "backup_root": "backup_root", "compress": "pgdump.compression", "pg_dump": "pgdump.pg_dump",
                 "all_databases": "pgdump.all", "globals_": "pgdump.globals", "lock_wait": "lock_wait",
                 "include_postgres": "pgdump.include_postgres", "exclude": "pgdump.exclude",
                 "server_name": "pgdump.server_name"},
    help_names=("--help",),   # -h is the host, as in psql and pg_dump
)
@click.argument("databases", nargs=-1)
@click.option("-a", "--all", "all_databases", is_flag=True, help="Dump every non-template database.")
@click.option("--include-postgres", is_flag=True, help="With --all, dump the postgres database too.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="With --all, skip databases matching GLOB.")
@click.option("-h", "--host", metavar="HOST", help="Server host or socket directory (PGHOST).")
@click.option("-p", "--port", type=int, metavar="PORT", help="Server port (PGPORT).")
@click.option("-U", "--username", metavar="USER", help="Database user (PGUSER).")
@click.option("--backup-root", metavar="DIR", help="Where backups go (REX_BACKUP_ROOT).")
@click.option("-Z", "--compress", type=click.IntRange(0, 9), metavar="0-9", help="pg_dump compression level.")
@click.option("--globals", "globals_", is_flag=True, help="Also write pg_dumpall --globals-only.")
@click.option("--pg-dump", metavar="PATH", help="Use this pg_dump instead of the matching one.")
@click.option("--server-name", metavar="NAME", help="Directory name of this server (default HOST_PORT).")
@click.option("--lock-wait", metavar="DURATION", help="Wait this long for a concurrent run (default 60s).")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be dumped; dump nothing.")
def command(inv, databases, all_databases, include_postgres, exclude, host, port, username, backup_root,
            compress, globals_, pg_dump, server_name, lock_wait, dry_run):
    """Dump PostgreSQL project libraries (DATABASE..., or --all) in the custom
    format Resolve restores, each with an md5 sidecar, and print each dump's path."""
    from ..fsutil import job_lock
    from ..backups.pgdump import dump_all, library_dir
    from ..pg import tools
    from ..pg.dump import choose_databases
    from ..pg.server import Server, list_databases, major_of, server_version_num

    config = inv.config
    os.umask(0o077)
    server = Server.from_config(config)
    root = config.backup_root

    with job_lock(f"pgdump-{server.label}", wait=config.get("lock_wait")):
        psql = tools.newest("psql")
        major = major_of(server_version_num(server, psql=psql))
        program, warning = tools.select_pg_dump(major, config.get("pgdump.pg_dump"))
        if warning:
            log.warning(warning)
        log.info(f"server {server.label} runs PostgreSQL {major}; using {program}")
        every = list_databases(server, psql=psql) if config.get("pgdump.all") and not databases else None
        names, excluded = choose_databases(databases, every, config.get("pgdump.include_postgres"),
                                           config.get("pgdump.exclude") or [],
                                           config.get("pgdump.databases") or [])
        for name in excluded:
            log.info(f"skipping {name} (excluded)")
        if not names and not config.get("pgdump.globals"):
            raise errors.UsageError("no database to dump: name some, use --all, or set pgdump.databases")
        if dry_run:
            for name in names:
                log.notice(f"would dump {name} into {library_dir(root, server.label, name)}")
            return errors.OK
        codes = []
        for name, done, code in dump_all(server, names, root, program, config.get("pgdump.compression"),
                                         config.get("pgdump.timeout"), config.get("pgdump.globals")):
            codes.append(code)
            if done and name is None:
                inv.out.path(done.path, database=None, size=done.size, md5=done.md5, server=server.label)
            elif done:
                inv.out.path(done.path, database=name, size=done.size, md5=done.md5, tables=done.tables,
                             server=server.label, pg_major=major)
        return errors.worst(codes)
