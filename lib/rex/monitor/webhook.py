"""A generic webhook: one JSON object per event, for chat bridges and in-house tools."""

import json

from .event import MAX_BODY, clip_utf8
from .http import Request


def payload(event):
    return {"job": event.job, "event": event.kind, "exit_status": event.exit_status, "reason": event.reason,
            "host": event.host, "time": event.time, "run_id": event.run_id, "title": event.title,
            "log_tail": clip_utf8(event.log_tail, MAX_BODY)}


def request(url, event, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return Request("POST", url, headers, json.dumps(payload(event), ensure_ascii=False).encode("utf-8"))
