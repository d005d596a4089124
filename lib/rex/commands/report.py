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
    if event == "run":
        return _run(inv, job, list(argv))
    from ..monitor import event as events

    config = inv.config
    lines = config.get("report.tail_lines")
    tail, reason, run_id = "", None, events.run_id_from(os.environ.get("INVOCATION_ID"))
    if from_systemd:
        tail, exit_status, reason, run_id = _systemd_failure(job, log_file, lines, exit_status)
    elif log_file:
        tail = _read_log(log_file, lines)
    _send(config, events.make(job, event, exit_status, reason, tail, run_id))
    return errors.OK


def _run(inv, job, argv):
    """Report around a command; the command's exit status is ours, whatever the monitors do."""
    from ..monitor import supervise
    from ..monitor import event as events

    try:
        config = inv.config
    except errors.ConfigError as exc:
        # The job matters more than its reports: run it anyway, and make the
        # broken configuration visible in the exit status.
        log.error(f"{exc.message}; running {job} without reports")
        status, _tail = supervise.run(argv, 0)
        return status or errors.CONFIG
    run_id = events.new_run_id()
    try:
        with supervise.stop_raises():
            _send(config, events.make(job, "start", run_id=run_id))
    except supervise.Stopped as stop:    # launchd or Ctrl-C stopped it before the job began
        status = supervise.exit_status(-stop.signum)
        _send(config, events.make(job, "failure", exit_status=status, run_id=run_id,
                                  log_tail=f"stopped by signal {stop.signum} before {job} started"))
        return status
    status, tail = supervise.run(argv, config.get("report.tail_lines"))
    if status == 0:
        _send(config, events.make(job, "success", run_id=run_id))
    else:
        _send(config, events.make(job, "failure", exit_status=status, log_tail=tail, run_id=run_id))
    return status


def _systemd_failure(job, log_file, lines, exit_status):
    from ..monitor import event as events
    from ..monitor import logsource, systemd

    failure = systemd.failure_facts(os.environ, job)
    if log_file:
        tail = _read_log(log_file, lines)
    else:
        tail, problem = logsource.from_journal(failure, lines, user=os.geteuid() != 0)
        if problem:
            log.warning(f"no log tail for {job}: {problem}")
    status = exit_status if exit_status is not None else failure.exit_status
    return tail, status, failure.reason, events.run_id_from(failure.invocation_id)


def _read_log(path, lines):
    from ..monitor import logsource

    try:
        return logsource.from_file(path, lines)
    except OSError as exc:
        log.warning(f"{path}: cannot read the log: {exc.strerror or exc}; reporting without it")
        return ""


def _send(config, event):
    from ..monitor import dispatch

    monitors = dispatch.monitors_for(config, event.job)
    if not monitors:
        log.debug(f"{event.job}: no monitors configured (report.monitors, report.jobs)")
        return
    for warning in dispatch.deliver(monitors, event, config.get("report.timeout"), config.get("report.retries")):
        log.warning(warning)
