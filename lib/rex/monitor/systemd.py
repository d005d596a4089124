"""What systemd tells an OnFailure= unit, and where the failed run's log is.

systemd 251 and later pass the failed unit's MONITOR_SERVICE_RESULT,
MONITOR_EXIT_CODE, MONITOR_EXIT_STATUS, MONITOR_INVOCATION_ID and MONITOR_UNIT
to the units its OnFailure= starts. Older managers pass none of them: the job
name (the report unit's instance) then finds the unit, and the log tail is the
unit's latest lines rather than exactly those of the failed run.
"""

import signal
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    exit_status: int        # None unless the job exited by itself
    reason: str             # None, or "killed by SIGTERM", "timeout", ...
    invocation_id: str      # 32 hex digits, or None
    unit: str


def failure_facts(environ, job):
    """The Failure that systemd describes in `environ` (the job name fills the gaps)."""
    result = environ.get("MONITOR_SERVICE_RESULT", "")
    code = environ.get("MONITOR_EXIT_CODE", "")
    status = environ.get("MONITOR_EXIT_STATUS", "")
    exit_status, reason = None, None
    if code == "exited" and status.isdigit():
        exit_status = int(status)
    elif code in ("killed", "dumped") and status:
        reason = f"killed by {_signal_name(status)}" + (", core dumped" if code == "dumped" else "")
    if result and result not in ("exit-code", "signal", "core-dump", "success"):
        reason = ", ".join(filter(None, [result, reason]))      # timeout, watchdog, start-limit-hit ...
    unit = environ.get("MONITOR_UNIT") or (job if "." in job.rsplit("@", 1)[-1] else job + ".service")
    return Failure(exit_status, reason, environ.get("MONITOR_INVOCATION_ID") or None, unit)


def _signal_name(status):
    if status.isdigit():
        try:
            return signal.Signals(int(status)).name
        except ValueError:
            return f"signal {status}"
    return status if status.startswith("SIG") else "SIG" + status


def journal_argv(unit, invocation_id, lines, user):
    """journalctl's command line for the last `lines` messages of the failed run.

    With an invocation id only that run's lines match; without one, the unit's
    latest. A user manager's units are in the user's journal (--user).
    """
    argv = ["journalctl", "--no-pager", "--quiet", "-o", "cat", "-n", str(lines)]
    if invocation_id:
        argv += (["--user"] if user else []) + [f"_SYSTEMD_INVOCATION_ID={invocation_id}"]
    else:
        argv += ["--user-unit" if user else "--unit", unit]
    return argv
