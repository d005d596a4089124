"""rex-standby: prepare a primary, clone a standby, watch it, promote it."""

import os

import click

from .. import errors, log
from ..cli import rex_group, rex_subcommand

NO_H = ("--help",)   # -h is the host, as in psql


def _connection(func):
    for option in reversed([
            click.option("-h", "--host", metavar="HOST", help="Server host or socket directory (PGHOST)."),
            click.option("-p", "--port", type=int, metavar="PORT", help="Server port (PGPORT)."),
            click.option("-U", "--username", metavar="USER", help="User to connect as (PGUSER)."),
            click.option("--slot", metavar="NAME", help="Physical replication slot (standby.slot).")]):
        func = option(func)
    return func


def _server(host, port, username):
    from ..pg.server import Server

    return Server(host=host, port=port, user=username)


_password_option = click.option("--password-file", metavar="FILE",
                                help="Read the replication role's password from FILE (else REX_STANDBY_PASSWORD).")


@rex_group("rex-standby")
def command():
    """A warm standby of the project database: prepare, clone, status, promote (see rex-standby(1))."""


@rex_subcommand(command, help_names=NO_H, short_help="Check (and --apply) what the primary needs.")
@_connection
@click.option("--standby-address", required=True, metavar="ADDR", help="IP address the standby connects from.")
@click.option("--role", metavar="ROLE", help="Replication role (standby.role).")
@_password_option
@click.option("--apply", "do_apply", is_flag=True, help="Run the SQL-level fixes and reload.")
def prepare(inv, host, port, username, slot, standby_address, role, password_file, do_apply):
    """Check the primary for replication; one line per problem with its fix. Exit 1 while
    anything is missing, 0 when ready."""
    import ipaddress

    from ..standby import checks, primary
    from ..standby.credentials import replication_password

    try:
        ipaddress.ip_address(standby_address)
    except ValueError:
        raise errors.UsageError(f"--standby-address: not an IP address: {standby_address}") from None
    slot, role = slot or inv.config.get("standby.slot"), role or inv.config.get("standby.role")
    server = _server(host, port, username)
    found = checks.problems(primary.facts(server, role, slot), role, slot, standby_address)
    if do_apply and found:
        primary.apply(server, found, role, replication_password(password_file))
        found = checks.problems(primary.facts(server, role, slot), role, slot, standby_address)
    for problem in found:
        log.error(problem.line())
        inv.out.obj({"path": problem.key, "problem": problem.message, "fix": problem.fix, "needs": problem.needs})
    if found:
        return errors.PARTIAL
    log.notice(f"ready: a standby of role {role} on {standby_address} can stream with slot {slot}")
    return errors.OK


@rex_subcommand(command, help_names=NO_H, short_help="Replication state with a Nagios exit status.")
@_connection
@click.option("--side", type=click.Choice(["auto", "primary", "standby"]), default="auto", show_default=True,
              help="Which side the server is.")
@click.option("--warn", "warn_", metavar="SIZE,DURATION",
              help="WARNING from this many bytes or seconds behind (standby.warn, 16MB,5m).")
@click.option("--crit", metavar="SIZE,DURATION",
              help="CRITICAL from this many bytes or seconds behind (standby.crit, 256MB,10m).")
def status(inv, host, port, username, slot, side, warn_, crit):
    """One status record on stdout; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    from ..standby import status as verdicts
    from ..standby import watch

    slot = slot or inv.config.get("standby.slot")
    warn, crit = verdicts.limits({"warn": warn_, "crit": crit},
                                 {k: inv.config.get(f"standby.{k}") for k in ("warn", "crit")})
    code, record, line = watch.check(_server(host, port, username), slot, None if side == "auto" else side,
                                     warn, crit)
    if record is None:
        log.error(line)
        return code
    {verdicts.OK: log.notice, verdicts.WARNING: log.warning}.get(code, log.error)(line)
    if inv.json:
        inv.out.obj(record)
    else:
        inv.out.text(verdicts.NAMES[code])
    return code


@rex_subcommand(command, help_names=NO_H, short_help="Clone the primary into DIR with pg_basebackup.")
@_connection
@click.argument("directory", metavar="DIR")
@_password_option
@click.option("--owner", metavar="USER", help="Server's OS user owning DIR (as root; default postgres).")
@click.option("--start", is_flag=True, help="Start the standby and wait until it streams.")
@click.option("--standby-port", "start_port", type=int, metavar="PORT", default=5432,
              show_default=True, help="Port the started standby listens on.")
def clone(inv, host, port, username, slot, directory, password_file, owner, start, start_port):
    """Clone the primary into DIR (absent or empty) as a streaming standby."""
    import sys

    from ..standby import clone as cloning
    from ..standby.credentials import replication_password
    from ..standby.serve import clone_standby

    target, major, message = clone_standby(
        _server(host, port, username), replication_password(password_file, libpq=True), directory,
        slot or inv.config.get("standby.slot"), cloning.owner(owner), start_port, and_start=start,
        progress=sys.stderr.isatty())
    inv.out.path(target, slot=slot or inv.config.get("standby.slot"), major=major)
    log.notice(message)
    return errors.OK


@rex_subcommand(command, help_names=NO_H, short_help="Promote the standby; refuses while the primary answers.")
@click.option("-h", "--host", metavar="HOST", help="Standby host or socket directory (PGHOST).")
@click.option("-p", "--port", type=int, metavar="PORT", help="Standby port (PGPORT).")
@click.option("-U", "--username", metavar="USER", help="User to connect as (PGUSER).")
@click.option("--force", is_flag=True, help="Promote even though the primary still answers.")
def promote(inv, host, port, username, force):
    """Promote the standby to a primary (pg_promote) and print the steps that remain."""
    from ..standby import serve

    facts = serve.promote(_server(host, port, username), force=force)
    inv.out.obj({"path": f"{host or os.environ.get('PGHOST', 'local')}:{port or os.environ.get('PGPORT', 5432)}",
                 "promoted": True, "replay_lag_bytes": facts.get("replay_lag_bytes")})
    log.notice("promoted; still to do:")
    for step in serve.STEPS:
        log.notice(f"- {step}")
    return errors.OK
