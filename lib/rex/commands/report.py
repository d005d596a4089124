"""rex-report: tell a job's monitors that it started, succeeded or failed."""

import os

import click

from .. import errors, log
from ..cli import rex_command

EVENTS = ("start", "success", "failure", "run")


@rex_command("rex-report", config_keys={"tail_lines": "report.tail_lines"})
@click.argument("event", type=click.Choice(EVENTS), metavar="start|success|failure|run")
@click.argument("job")
@click.argument("argv", nargs=-1, type=click.UNPROCESSED, metavar="[-- COMMAND ...]")
@click.option("--exit-status", type=click.IntRange(0, 255), metavar="N", help="The failed job's exit status.")
@click.option("--log", "log_file", metavar="FILE",
              help="Send the end of FILE (- for standard input) with a failure.")
@click.option("--from-systemd", is_flag=True,
              help="Describe the failure from what systemd gives an OnFailure= unit (MONITOR_*, the journal).")
@click.option("--tail-lines", type=click.IntRange(0, 1000), metavar="N",
              help="Lines of log sent with a failure (default 20).")
def command(inv, event, job, argv, exit_status, log_file, from_systemd, tail_lines):
    """Tell the monitors of JOB (rex(5), report) that it started, succeeded or
    failed. `run JOB -- COMMAND ...` runs COMMAND, reports its start and then its
    success or its failure with the end of its stderr, and exits with its status.
    A monitor that cannot be reached is a warning, never an error."""
    if event == "run" and not argv:
        raise errors.UsageError("run needs the command to run after --")
    if event != "run" and argv:
        raise errors.UsageError(f"unexpected operand '{argv[0]}' (only run takes a command)")
    if event != "failure" and (exit_status is not None or log_file or from_systemd):
        raise errors.UsageError("--exit-status, --log and --from-systemd describe a failure")
    if not job.strip() or any(c.isspace() or ord(c) < 32 for c in job):
        raise errors.UsageError(f"{job!r}: a job name has no spaces or control characters")
    from ..monitor import report
    from ..monitor.event import make, run_id_from

    if event == "run":
        return report.run_reported(job, list(argv), lambda: inv.config)
    config = inv.config
    lines = config.get("report.tail_lines")
    tail, reason, run_id = "", None, run_id_from(os.environ.get("INVOCATION_ID"))
    if from_systemd:
        tail, exit_status, reason, run_id = report.systemd_failure(job, log_file, lines, exit_status)
    elif log_file:
        tail = report.read_log(log_file, lines)
    report.send(config, make(job, event, exit_status, reason, tail, run_id))
    return errors.OK
