"""One report: which job, what happened, and the end of its log.

Pure data and pure decisions (how much of a log a monitor can take), so they are
tested without a network.
"""

import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

MAX_BODY = 100_000      # healthchecks keeps at most 100 kB of a ping body


@dataclass(frozen=True)
class Event:
    job: str
    kind: str                   # start, success, failure
    host: str
    time: str                   # UTC, ISO 8601
    exit_status: int = None     # the job's exit status, when it exited
    reason: str = None          # why it failed otherwise: "killed by SIGTERM", "timeout", ...
    log_tail: str = ""
    run_id: str = None          # a UUID that pairs a start with its end (healthchecks' rid)

    @property
    def title(self):
        """One line for people: `rex-pgdump failed on db1 (exit 1)`."""
        verb = {"start": "started", "success": "succeeded", "failure": "failed"}[self.kind]
        why = []
        if self.exit_status is not None and self.kind == "failure":
            why.append(f"exit {self.exit_status}")
        if self.reason:
            why.append(self.reason)
        return f"{self.job} {verb} on {self.host}" + (f" ({', '.join(why)})" if why else "")

    def text(self, limit=MAX_BODY):
        """The title, then the log tail, in at most `limit` bytes of UTF-8."""
        head = self.title + "\n"
        room = max(0, limit - len(head.encode("utf-8")))
        return head + clip_utf8(self.log_tail, room) if self.log_tail else self.title


def make(job, kind, exit_status=None, reason=None, log_tail="", run_id=None, now=None, host=None):
    now = now or datetime.now(timezone.utc)
    return Event(job=job, kind=kind, host=host or socket.gethostname(), time=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 exit_status=exit_status, reason=reason, log_tail=log_tail or "", run_id=run_id)


def run_id_from(invocation_id):
    """systemd's invocation id (32 hex digits) as a UUID; None when it is not one."""
    try:
        return str(uuid.UUID(hex=invocation_id.strip())) if invocation_id else None
    except ValueError:
        return None


def new_run_id():
    return str(uuid.uuid4())


def last_lines(text, count):
    """The last `count` lines of `text`, trailing blank lines dropped."""
    if count <= 0:
        return ""
    lines = text.rstrip("\n").split("\n")
    return "\n".join(lines[-count:]) if text.strip() else ""


def clip_utf8(text, limit):
    """The longest end of `text` whose UTF-8 form fits in `limit` bytes.

    A log tail is cut at its start (the end is what explains a failure), and a
    character is never split: a monitor would reject or garble invalid UTF-8.
    """
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = len(data) - limit
    while cut < len(data) and (data[cut] & 0xC0) == 0x80:     # a continuation byte
        cut += 1
    return data[cut:].decode("utf-8", "replace")
