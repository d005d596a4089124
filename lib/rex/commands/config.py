"""rex-config: check, generate and show the configuration."""

import os
import sys

import click

from .. import errors, log
from ..cli import rex_group, rex_subcommand


@rex_group("rex-config")
def command():
    """Check, generate and show the Rex configuration (see rex(5))."""


@rex_subcommand(command, short_help="Validate the file and the environment; exit 78 on problems.")
@click.argument("file", required=False)
def check(inv, file):
    """Validate FILE and the environment; exit 78 on problems.

    FILE defaults to the file Rex would read. The environment variables that set
    keys (REX_*, PG*) are checked too, since every command reads them."""
    from ..config import check_all, find_file

    path = file or find_file(inv.config_file)
    if path is not None and not os.path.exists(path):
        raise errors.NoInput(f"{path}: no such file")
    problems = check_all(path)
    for problem in problems:
        log.error(problem)
    if problems:
        return errors.CONFIG
    log.info(f"{path}: ok" if path else "no configuration file found; defaults apply")
    return errors.OK


@rex_subcommand(command, short_help="Write a commented sample configuration.")
@click.argument("file", required=False)
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing file.")
def generate(inv, file, force):
    """Write a commented sample configuration to FILE (default: the user's rex.yaml; - for stdout)."""
    from .. import paths
    from ..config.sample import sample
    from ..fsutil import makedirs, write_atomic

    text = sample() + "\n"
    if file == "-":
        sys.stdout.write(text)
        return errors.OK
    path = file or inv.config_file or paths.user_config_file()
    if os.path.lexists(path) and not force:
        raise errors.CantCreate(f"{path} exists; use --force to overwrite it")
    makedirs(os.path.dirname(os.path.abspath(path)))
    try:
        write_atomic(path, text, mode=0o600)
    except OSError as exc:
        raise errors.from_oserror(exc, f"cannot write {path}") from None
    log.notice(f"wrote {path}")
    return errors.OK


@rex_subcommand(command, short_help="Print every key's effective value and its source.")
def show(inv):
    """Print the effective configuration and where each value came from."""
    import json

    config = inv.config
    width = max(len(name) for name, _v, _s in config.items())
    for name, value, source in config.shown():
        if inv.json:
            line = json.dumps({"key": name, "value": value, "source": source}, ensure_ascii=False)
        else:
            shown = "~" if value is None else json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            line = f"{name:<{width}}  {shown}  ({source})"
        inv.out.text(line)
    if config.file is None:
        log.info("no configuration file found; defaults apply")
    return errors.OK
