"""rexd's jobs as the configuration gives them (daemon.jobs, validated by rex.config with
file:line:column), and what the command shows of them."""

from datetime import datetime, timezone

from .. import errors
from ..when import local_text


def load(config):
    """The jobs of daemon.jobs: dicts name, when (rex.when.When or None), after, run, delay."""
    return list(config.get("daemon.jobs") or [])


def find(jobs, name):
    """The job called `name`; UsageError naming the jobs there are."""
    for job in jobs:
        if job["name"] == name:
            return job
    known = ", ".join(j["name"] for j in jobs) or "none (daemon.jobs is empty)"
    raise errors.UsageError(f"no job named '{name}' in daemon.jobs (jobs: {known})")


def listing(jobs, count, now=None):
    """One record per job: name, schedule, its next `count` runs (UTC ISO 8601 and on its
    own clock), or the job it follows."""
    now = now or datetime.now(timezone.utc)
    records = []
    for job in jobs:
        when = job["when"]
        record = {"name": job["name"], "when": when.text if when else None, "after": job["after"],
                  "delay_s": job["delay"], "run": job["run"], "next": [], "next_local": []}
        if when is not None:
            runs = when.runs(now, count)
            record["next"] = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in runs]
            record["next_local"] = [local_text(t, when) for t in runs]
        records.append(record)
    return records


def describe(record):
    """A listing record as one line for people."""
    if record["after"]:
        return f"{record['name']}\tafter {record['after']} succeeds"
    return f"{record['name']}\t{record['when']}\tnext: {', '.join(record['next_local'])}"
