"""rexd: run the configured jobs (daemon.jobs) on their schedules, in one process."""

import click

from .. import errors, log
from ..cli import rex_command


@rex_command("rexd")
@click.option("--list", "list_", is_flag=True, help="Print each job and its next runs, then exit.")
@click.option("--count", type=click.IntRange(1, 100), default=3, show_default=True, metavar="N",
              help="With --list: how many next runs to show.")
@click.option("--run", "run_job", metavar="JOB", help="Run JOB now, in the foreground, reported; exit with its status.")
@click.option("--check", is_flag=True, help="Validate the configuration and the jobs, then exit (78 on problems).")
def command(inv, list_, count, run_job, check):
    """Run the jobs of daemon.jobs (rex(5)) on their schedules: each under
    bash -o pipefail, never two runs of one job at once, a run missed while rexd was
    down once at start-up, each reported like the units' runs (rex-report(1)).
    SIGTERM or SIGINT stops it, SIGHUP reloads the configuration."""
    if sum(map(bool, (list_, run_job, check))) > 1:
        raise errors.UsageError("--list, --run and --check exclude each other")
    if count != 3 and not list_:
        raise errors.UsageError("--count goes with --list")
    if check:
        return _check(inv)
    from ..daemon import jobs

    if list_:
        for record in jobs.listing(jobs.load(inv.config), count):
            inv.out.obj(record) if inv.json else inv.out.text(jobs.describe(record))
        return errors.OK
    if run_job:
        from ..daemon.loop import held, lock_name
        from ..daemon.process import argv
        from ..monitor.report import run_reported

        job = jobs.find(jobs.load(inv.config), run_job)
        lock = held(lock_name(job["name"]))
        if lock is None:
            raise errors.TempFail(f"{job['name']} is running already (rexd runs it); try later")
        with lock:
            return run_reported(job["name"], argv(job["run"]), lambda: inv.config)
    from ..config import load
    from ..daemon.loop import Daemon
    from ..servicenotify import ServiceNotifier

    return Daemon(lambda: load(inv.config_file), ServiceNotifier()).serve()


def _check(inv):
    from ..config import check_all, find_file

    path = find_file(inv.config_file)
    problems = check_all(path)
    for problem in problems:
        log.error(problem)
    if problems:
        return errors.CONFIG
    from ..daemon import jobs

    found = jobs.load(inv.config)
    log.notice(f"{path or 'no configuration file'}: {len(found)} jobs" + (": " if found else "")
               + ", ".join(j["name"] for j in found))
    return errors.OK
