"""Telling monitors about a job: one module per kind of monitor (healthchecks, ntfy,
webhook, desktop), the event they are told about, the dispatcher that sends it, and
`supervise`, which runs a whole job under a reporter.

Every kind turns an event into a request by a pure function; only `http` and
`desktop` touch the outside world, and neither ever raises: a monitor that is down
costs a warning and a bounded wait, never the job.
"""
