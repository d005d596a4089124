"""What rexd starts and when: the pure decisions, on a clock the caller passes in.

A job's runs are its schedule's slots (rex.when). `seen` is the last slot a job has
accounted for (run, skipped, or passed before rexd watched it), kept in the state file:
- at start-up, a slot between `seen` and now was missed (rexd down, host off): the job
  runs once, now, however many slots were missed (systemd's Persistent=true);
- when a slot comes while the job still runs, that slot is skipped, never queued;
- when several slots passed at once (the host slept), they count as one.
A job with `after` has no slots: it starts when the job it follows succeeds.
"""

import random
from dataclasses import dataclass


@dataclass
class Entry:
    job: dict                   # name, when, after, run, delay (config daemon.jobs)
    seen: object = None         # the last slot accounted for (aware datetime)
    due: object = None          # the next slot
    start_at: object = None     # the next slot plus its random delay


class Plan:
    def __init__(self, jobs, seen, now, rand=random.random):
        """`jobs` as config daemon.jobs; `seen` {name: datetime} from the state file."""
        self._rand = rand
        self.entries = {}
        self.catch_up = []          # names to run once, now
        self._take(jobs, seen, now)

    def _take(self, jobs, seen, now):
        entries = {}
        for job in jobs:
            entry = Entry(job)
            when = job["when"]
            if when is not None:
                last = when.previous(now)
                before = seen.get(job["name"])
                if before is not None and before < last:
                    self.catch_up.append(job["name"])
                entry.seen = max(before, last) if before is not None else last
                self._schedule(entry, now)
            entries[job["name"]] = entry
        self.entries = entries

    def reload(self, jobs, now):
        """A new list of jobs (SIGHUP): a job whose schedule is unchanged keeps its next slot;
        a new or changed one starts from its next slot after `now`; none is caught up."""
        old, self.entries = self.entries, {}
        for job in jobs:
            kept = old.get(job["name"])
            if kept and (kept.job["when"], kept.job.get("delay")) == (job["when"], job.get("delay")):
                kept.job = job
                self.entries[job["name"]] = kept
                continue
            entry = Entry(job)
            if job["when"] is not None:
                entry.seen = job["when"].previous(now)
                self._schedule(entry, now)
            self.entries[job["name"]] = entry

    def _schedule(self, entry, now):
        entry.due = entry.job["when"].next_after(now)
        delay = entry.job.get("delay") or 0
        from datetime import timedelta

        entry.start_at = entry.due + timedelta(seconds=delay * self._rand()) if delay else entry.due

    def due(self, now, running):
        """(names to start, names skipped because they still run) at `now`; each job's
        passed slots count once, and its next slot is after `now`."""
        start, skip = [], []
        for name, entry in self.entries.items():
            if entry.start_at is None or entry.start_at > now:
                continue
            (skip if name in running else start).append(name)
            entry.seen = max(entry.due, entry.job["when"].previous(now))
            self._schedule(entry, now)
        return start, skip

    def followers(self, name):
        """The jobs that run right after `name` succeeds."""
        return [n for n, e in self.entries.items() if e.job.get("after") == name]

    def next_wake(self):
        """The earliest moment a job is due (None: only `after` jobs, or none)."""
        times = [e.start_at for e in self.entries.values() if e.start_at is not None]
        return min(times) if times else None

    def next_job(self):
        """(name, moment) of the job due first, or None."""
        timed = [(e.start_at, n) for n, e in self.entries.items() if e.start_at is not None]
        if not timed:
            return None
        moment, name = min(timed)
        return name, moment

    def seen(self):
        return {n: e.seen for n, e in self.entries.items() if e.seen is not None}
