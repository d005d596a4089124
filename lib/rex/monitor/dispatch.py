"""Which monitors a job has, and telling them all at once within a bounded time.

Each monitor gets its own thread, so a slow one delays neither the others nor the
job by more than one monitor's budget (http.budget); after that the dispatcher
stops waiting and reports the monitor as unreachable. Nothing here raises.
"""

import os
import threading
import time
from urllib.parse import urlsplit

from . import desktop, healthchecks, http, ntfy, webhook

BUILDERS = {"healthchecks": healthchecks.request, "ntfy": ntfy.request, "webhook": webhook.request}


def monitors_for(config, job):
    """The job's own list (report.jobs), else the default list (report.monitors)."""
    jobs = config.get("report.jobs") or {}
    return list(jobs[job]) if job in jobs else list(config.get("report.monitors") or [])


def wanted(monitors, kind):
    return [m for m in monitors if kind in m["events"] and m["target"] is not False]


def label(monitor, url=None):
    """How a warning names a monitor: its kind and host, never the URL's secret path."""
    if monitor["kind"] == "desktop":
        return "desktop"
    target = str(monitor["target"])
    if target.startswith("$") and not url:
        return f"{monitor['kind']} {target}"          # the variable's name, not its value
    try:
        host = urlsplit(url or target).hostname
    except ValueError:
        host = None
    return f"{monitor['kind']} {host}" if host else monitor["kind"]


def prepare(monitor, event, environ):
    """The Request for an HTTP monitor, or a reason why none can be made."""
    url = monitor["target"]
    if url.startswith("$"):
        url = environ.get(url[1:], "")
        if not url:
            return f"environment variable {monitor['target'][1:]} is not set"
        if urlsplit(url).scheme not in ("http", "https"):
            return f"environment variable {monitor['target'][1:]} is not an http(s) URL"
    token = monitor.get("token")
    if monitor.get("token_env"):
        token = environ.get(monitor["token_env"]) or token
    if monitor.get("token_file"):
        try:
            token = http.token_from_file(monitor["token_file"])
        except OSError as exc:
            return f"token_file {monitor['token_file']}: {exc.strerror or exc}"
        except UnicodeDecodeError:
            return f"token_file {monitor['token_file']}: not UTF-8 text"
        except ValueError as exc:       # names the file, never the token
            return f"token_file {exc}"
    return BUILDERS[monitor["kind"]](url, event, token)


def deliver(monitors, event, timeout, retries, environ=None):
    """Send `event` to each monitor that wants it; returns one warning per failure."""
    environ = os.environ if environ is None else environ
    chosen = wanted(monitors, event.kind)
    results, threads = {}, []
    for n, monitor in enumerate(chosen):
        thread = threading.Thread(target=_one, args=(monitor, event, timeout, retries, environ, results, n),
                                  daemon=True)
        thread.start()
        threads.append(thread)
    limit = http.budget(timeout, retries) + 1
    end = time.monotonic() + limit
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    warnings = []
    for n, monitor in enumerate(chosen):
        name, problem = results.get(n, (label(monitor), f"no answer within {limit:g} s; gave up"))
        if problem:
            warnings.append(f"{event.kind} of {event.job} not reported to {name}: {problem}")
    return warnings


def _one(monitor, event, timeout, retries, environ, results, n):
    try:
        if monitor["kind"] == "desktop":
            results[n] = (label(monitor), desktop.send(event))
            return
        request = prepare(monitor, event, environ)
        if isinstance(request, str):
            results[n] = (label(monitor), request)
            return
        results[n] = (label(monitor, request.url), http.send(request, timeout, retries))
    except Exception as exc:  # never out of a monitor thread
        results[n] = (label(monitor), f"{type(exc).__name__}: {exc}")
