"""Reaching the farm's Redis, and who is working on it.

The URL comes from `--farm URL`, `farm.redis_url` or REX_FARM_URL; the password only
from REX_FARM_PASSWORD or the file farm.password_file names, never from argv (it
would show in ps). An unreachable Redis is 75 naming host:port, never the password.
"""

import os

from .. import errors
from .farmkey import PREFIX

SCHEMES = ("redis://", "rediss://", "unix://")
LISTEN = PREFIX + "listen:"       # + job id: the set of queuers' inboxes told when it ends
INBOX = PREFIX + "inbox:"         # + queuer token: the list of job ids that ended
FIELDS = ("rex_key", "rex_version")   # what a rex worker adds to RQ's worker hash
# Jobs, results and meta as JSON, never pickle: nothing read from Redis runs as code.
SERIALIZER = "rq.serializers.JSONSerializer"


def where(url):
    """HOST:PORT (or the socket path) of a Redis URL, without user or password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def check_url(url):
    """`url` when it is a Redis URL without a password; UsageError otherwise."""
    from urllib.parse import urlsplit

    text = str(url or "").strip()
    if not text.startswith(SCHEMES):
        raise errors.UsageError(f"{text or 'no URL'}: expected a Redis URL (redis://HOST:PORT, rediss://, unix://)")
    if urlsplit(text).password:
        raise errors.UsageError(f"{where(text)}: the Redis URL must not hold a password (it would show in ps "
                                f"and logs): set REX_FARM_PASSWORD or farm.password_file")
    return text


def password_from(config):
    """The Redis password: REX_FARM_PASSWORD, else the first line of farm.password_file, else None."""
    if os.environ.get("REX_FARM_PASSWORD"):
        return os.environ["REX_FARM_PASSWORD"]
    path = config.get("farm.password_file") if config is not None else None
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().rstrip("\r\n") or None
    except OSError as exc:
        raise errors.ConfigError(f"farm.password_file: {path}: {errors.describe(exc)}") from None


def url_from(config, given=None):
    """The farm's URL: the one given, else farm.redis_url (or REX_FARM_URL); UsageError if none."""
    url = given or (config.get("farm.redis_url") if config is not None else None)
    if not url:
        raise errors.UsageError("no farm: give --farm redis://HOST:PORT, set farm.redis_url or REX_FARM_URL")
    return check_url(url)


def connect(url, password=None, timeout=5):
    """A redis.Redis that answered PING: TempFail (75) naming host:port when Redis cannot be
    reached, NoPermission (77) when it refuses the password."""
    import redis

    url = check_url(url)
    conn = redis.Redis.from_url(url, password=password, socket_connect_timeout=timeout,
                                socket_keepalive=True, health_check_interval=30)
    ping(conn, url)
    return conn


def ping(conn, url):
    import redis

    try:
        conn.ping()
    except (redis.exceptions.AuthenticationError, redis.exceptions.AuthorizationError) as exc:
        raise errors.NoPermission(f"Redis at {where(url)} refused the password: {exc}") from None
    except redis.exceptions.ResponseError as exc:
        if "NOAUTH" in str(exc) or "AUTH" in str(exc):
            raise errors.NoPermission(f"Redis at {where(url)} wants a password: set REX_FARM_PASSWORD or "
                                      f"farm.password_file") from None
        raise errors.TempFail(f"Redis at {where(url)}: {exc}") from None
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
        raise unreachable(url, exc) from None


def unreachable(url, exc):
    """The TempFail of a Redis that went away (or never answered)."""
    reason = str(exc).split(". ")[0] if str(exc) else type(exc).__name__
    if "@" in reason:           # never echo credentials redis-py may quote
        reason = "connection failed"
    return errors.TempFail(f"cannot reach Redis at {where(url)}: {reason}")


def notify(conn, job_id, ttl=3600):
    """Tell every queuer waiting for `job_id` that it ended (their inboxes get its id)."""
    inboxes = conn.smembers(LISTEN + job_id)
    if not inboxes:
        return
    with conn.pipeline(transaction=False) as pipe:
        for inbox in inboxes:
            pipe.rpush(inbox, job_id)
            pipe.expire(inbox, ttl)
        pipe.execute()


def workers(conn, key=None):
    """Every rex proxy worker on this Redis: dicts of name, host, pid, key, version, state,
    job (the current job id), progress (its meta: frame, frames, fps, source) and
    mismatched (its key is not `key`, default this installation's, or it refused a job)."""
    from rq import Worker

    from .farmkey import version_key

    key = key or version_key()
    found = []
    for worker in Worker.all(connection=conn, serializer=SERIALIZER):
        queues = worker.queue_names()
        extra = dict(zip(FIELDS, (v.decode() if v else None for v in conn.hmget(worker.key, FIELDS))))
        if not extra["rex_key"] and not any(q.startswith(PREFIX) for q in queues):
            continue
        executions = worker.get_current_executions(refresh=True)
        job_id = executions[0].job_id if executions else None
        progress = _meta(conn, job_id) if job_id else {}
        state = worker.get_state()
        found.append({
            "name": worker.name, "host": worker.hostname, "pid": worker.pid, "key": extra["rex_key"],
            "version": extra["rex_version"], "state": state, "job": job_id, "queues": queues,
            "progress": progress, "successful": worker.successful_job_count, "failed": worker.failed_job_count,
            "mismatched": extra["rex_key"] != key or state == "mismatched",
            "last_heartbeat": worker.last_heartbeat.isoformat() if worker.last_heartbeat else None,
        })
    return sorted(found, key=lambda w: (w["host"] or "", w["name"]))


def _meta(conn, job_id):
    from rq.job import Job

    try:
        meta = Job.fetch(job_id, connection=conn, serializer=SERIALIZER).get_meta(refresh=False)
    except Exception:           # gone meanwhile, or not ours
        return {}
    return {k: meta.get(k) for k in ("source", "frame", "frames", "fps", "host") if k in meta}


def describe_worker(w):
    """One line about a worker for -v and --status."""
    text = f"{w['name']} on {w['host']} (pid {w['pid']}): rex {w['version'] or '?'}, key {w['key'] or 'none'}, " \
           f"{w['state']}"
    progress = w.get("progress") or {}
    if w["job"]:
        text += f", job {w['job']}"
        if progress.get("source"):
            text += f" ({os.path.basename(progress['source'])}"
            if progress.get("frames"):
                text += f" {100 * (progress.get('frame') or 0) // progress['frames']}%"
            text += ")"
    if w["mismatched"]:
        text += " - MISMATCHED: takes no job of this version"
    return text


def queues(conn):
    """The rex proxy queues on this Redis: dicts of name, key, queued, started, failed, finished."""
    from rq import Queue

    found = []
    for queue in Queue.all(connection=conn, serializer=SERIALIZER):
        if not queue.name.startswith(PREFIX):
            continue
        found.append({"name": queue.name, "key": queue.name[len(PREFIX):], "queued": queue.count,
                      "started": queue.started_job_registry.count, "failed": queue.failed_job_registry.count,
                      "finished": queue.finished_job_registry.count})
    return found
