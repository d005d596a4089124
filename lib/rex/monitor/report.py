"""rex-report's work: telling a job's monitors about one event, describing a failure
from a log file or from what systemd hands an OnFailure= unit, and running a whole
job between its start and its end reports.

Reports never decide a job's fate: a monitor that cannot be reached, a log that
cannot be read, even a broken configuration, cost a warning, and a job run under
`run_reported` exits with its own status.
"""

import os

from .. import errors, log
from .event import make, new_run_id, run_id_from


def send(config, event):
    """Record the event in the run history (monitor.history), then tell the job's monitors
    (report.jobs, else report.monitors); each failure a warning."""
    from . import dispatch
    from .history import record_event

    record_event(config, event)

    monitors = dispatch.monitors_for(config, event.job)
    if not monitors:
        log.debug(f"{event.job}: no monitors configured (report.monitors, report.jobs)")
        return
    for warning in dispatch.deliver(monitors, event, config.get("report.timeout"), config.get("report.retries")):
        log.warning(warning)


def read_log(path, lines):
    """The last `lines` of the log at `path` (- for stdin); "" with a warning if unreadable."""
    from . import logsource

    try:
        return logsource.from_file(path, lines)
    except OSError as exc:
        log.warning(f"{path}: cannot read the log: {exc.strerror or exc}; reporting without it")
        return ""


def systemd_failure(job, log_file, lines, exit_status=None, environ=None):
    """(log tail, exit status, reason, run id) of a failed unit, from the MONITOR_* variables
    systemd gives an OnFailure= unit and the failed run's journal (or `log_file`); what the
    user gave (`exit_status`, `log_file`) wins."""
    from . import logsource, systemd

    failure = systemd.failure_facts(os.environ if environ is None else environ, job)
    if log_file:
        tail = read_log(log_file, lines)
    else:
        tail, problem = logsource.from_journal(failure, lines, user=os.geteuid() != 0)
        if problem:
            log.warning(f"no log tail for {job}: {problem}")
    status = exit_status if exit_status is not None else failure.exit_status
    return tail, status, failure.reason, run_id_from(failure.invocation_id)


def run_reported(job, argv, load_config):
    """Run `argv` between a start report and a success or failure report (with the end
    of its stderr); its exit status. A configuration that `load_config` cannot load is
    named and the job runs anyway, without reports, exiting 78 if it succeeded."""
    from . import supervise

    try:
        config = load_config()
    except errors.ConfigError as exc:
        log.error(f"{exc.message}; running {job} without reports")
        status, _tail = supervise.run(argv, 0)
        return status or errors.CONFIG
    run_id = new_run_id()
    try:
        with supervise.stop_raises():
            send(config, make(job, "start", run_id=run_id))
    except supervise.Stopped as stop:    # launchd or Ctrl-C stopped it before the job began
        status = supervise.exit_status(-stop.signum)
        send(config, make(job, "failure", exit_status=status, run_id=run_id,
                                 log_tail=f"stopped by signal {stop.signum} before {job} started"))
        return status
    status, tail = supervise.run(argv, config.get("report.tail_lines"))
    if status == 0:
        send(config, make(job, "success", run_id=run_id))
    else:
        send(config, make(job, "failure", exit_status=status, log_tail=tail, run_id=run_id))
    return status
