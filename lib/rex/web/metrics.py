"""Prometheus text at /metrics, for facilities that already run Grafana.

A collector reads the same Status as the page at scrape time (no second copy of the
state to drift), into a registry of its own with the process metrics beside it.
"""

from .openapi import RUN_STATUSES, STATES, VERDICTS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def registry(snapshot):
    """A CollectorRegistry whose collect() asks `snapshot()` -> (health, sets, runs, standby, farm)."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    reg = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=reg)
    reg.register(_Collector(snapshot))
    return reg


def text(reg):
    from prometheus_client import generate_latest

    return generate_latest(reg)


class _Collector:
    def __init__(self, snapshot):
        self._snapshot = snapshot

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        health, sets, runs, standby, farm = self._snapshot()
        verdict = GaugeMetricFamily("rex_verdict", "The overall verdict: 1 for the one in force.", labels=["verdict"])
        for name in VERDICTS:
            verdict.add_metric([name], 1 if health.get("verdict") == name else 0)
        yield verdict

        by_state = GaugeMetricFamily("rex_backup_sets", "Backup sets in each freshness state.", labels=["state"])
        for state in STATES:
            by_state.add_metric([state], sum(1 for s in sets if s.get("state") == state))
        yield by_state

        labels = ["set", "kind", "library", "project"]
        age = GaugeMetricFamily("rex_backup_set_newest_age_seconds", "Age of each set's newest backup.",
                                labels=labels)
        count = GaugeMetricFamily("rex_backup_set_backups", "Backups in each set.", labels=labels)
        size = GaugeMetricFamily("rex_backup_set_bytes", "Bytes on disk of each set.", labels=labels)
        saved = GaugeMetricFamily("rex_backup_set_saved_bytes", "Bytes each set saves by dedupe links.",
                                  labels=labels)
        state = GaugeMetricFamily("rex_backup_set_state", "Each set's freshness state (1 for the one in force).",
                                  labels=["set", "state"])
        for item in sets:
            values = [str(item.get(k) or "") for k in ("id", "kind", "library", "project")]
            if item.get("age_s") is not None:
                age.add_metric(values, float(item["age_s"]))
            count.add_metric(values, float(item.get("count") or 0))
            size.add_metric(values, float(item.get("bytes") or 0))
            saved.add_metric(values, float(item.get("saved_bytes") or 0))
            state.add_metric([values[0], str(item.get("state"))], 1)
        yield from (age, count, size, saved, state)

        latest = {}
        for run in runs:    # newest first: the first of each job and host is its last run
            latest.setdefault((run.get("job"), run.get("host")), run)
        last = GaugeMetricFamily("rex_job_last_run_status", "Each job's last run on each host (1 for its status).",
                                 labels=["job", "host", "status"])
        for (job, host), run in sorted(latest.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
            for status in RUN_STATUSES:
                last.add_metric([str(job), str(host), status], 1 if run.get("status") == status else 0)
        yield last

        configured = GaugeMetricFamily("rex_section_configured", "Whether the standby and the farm are set up here.",
                                       labels=["section"])
        configured.add_metric(["standby"], 1 if standby.get("configured", True) else 0)
        configured.add_metric(["farm"], 1 if farm.get("configured") else 0)
        yield configured
