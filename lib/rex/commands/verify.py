"""rex-verify: prove that backups are intact, and pass on only those that are."""

import os
import sys

import click

from .. import errors, log
from ..cli import rex_command


@rex_command(
    "rex-verify",
    config_keys={"jobs": "verify.jobs", "older_than": "verify.older_than", "deep": "verify.deep",
                 "host": "verify.host", "port": "verify.port", "username": "verify.username"},
    help_names=("--help",),   # -h is the host for --deep, as in psql
)
@click.argument("paths", nargs=-1)
@click.option("-r", "--recursive", "trees", multiple=True, metavar="DIR", help="Verify every backup under DIR.")
@click.option("-j", "--jobs", type=click.IntRange(0, 256), metavar="N", help="Files checked at once (default: cores).")
@click.option("--older-than", metavar="DURATION", help="Skip backups verified good within DURATION.")
@click.option("--deep", is_flag=True, help="Restore each .backup into a throwaway database and compare.")
@click.option("-h", "--host", metavar="HOST", help="Server for --deep (default: a scratch cluster).")
@click.option("-p", "--port", type=int, metavar="PORT", help="Port of the --deep server.")
@click.option("-U", "--username", metavar="USER", help="User on the --deep server.")
@click.option("--report", is_flag=True, help="Print 'PATH: OK' or 'PATH: FAILED' per file on stderr.")
def command(inv, paths, trees, jobs, older_than, deep, host, port, username, report):
    """Verify backups given as PATH operands, on stdin, or under -r DIR: the sidecar
    checksum, and the format (.backup through pg_restore, .drp through every ZIP
    member). Verified paths are printed on stdout."""
    from ..paths import state_dir
    from ..backups.verify import Checker, DeepServer, VerificationLedger, check_all, under

    config = inv.config
    deep_server = DeepServer(config.get("verify.host"), config.get("verify.port"), config.get("verify.username"),
                             config.get("verify.passfile"))
    checker = Checker(deep=config.get("verify.deep"), deep_server=deep_server)
    ledger = VerificationLedger(state_dir())

    def inputs():
        for tree in trees:
            yield from under(tree)
        if paths or not trees:
            for record in inv.records(paths):
                yield record.path

    codes = []
    try:
        for outcome in check_all(inputs(), checker, ledger, config.get("verify.older_than"),
                                 config.get("verify.jobs") or os.cpu_count() or 1):
            codes.append(_finish(inv, ledger, outcome, report))
    finally:
        ledger.close()
        deep_server.close()
    # Anything corrupt (65), else anything missing (66), else the usual order.
    return errors.worst(codes, order=(errors.DATAERR, errors.NOINPUT, *errors.ORDER))


def _finish(inv, ledger, outcome, report):
    if not outcome.skipped and outcome.code in (errors.OK, errors.DATAERR):
        ledger.record(outcome)
    if outcome.ok:
        if report:
            sys.stderr.write(f"{outcome.path}: OK\n")
        log.info(errors.about(outcome.path, outcome.reason))
        inv.out.path(outcome.path, md5=outcome.md5, size=outcome.size, verified=not outcome.skipped)
    else:
        if report:
            sys.stderr.write(f"{outcome.path}: FAILED\n")
        log.error(errors.about(outcome.path, outcome.reason))
    return outcome.code
