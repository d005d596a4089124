"""ntfy topics: the title and the log tail as the message, failures at high priority."""

import base64

from .event import clip_utf8
from .http import Request

MAX_MESSAGE = 4000      # ntfy turns a longer message into an attachment
PRIORITY = {"start": "low", "success": "default", "failure": "high"}
TAGS = {"start": "arrow_forward", "success": "white_check_mark", "failure": "rotating_light"}


def header_text(text):
    """A header value: ASCII as it is, anything else RFC 2047-encoded (ntfy decodes it)."""
    text = " ".join(text.splitlines())
    if text.isascii():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def request(url, event, token=None):
    headers = {"Title": header_text(event.title), "Priority": PRIORITY[event.kind],
               "Tags": f"{TAGS[event.kind]},{event.job}", "Content-Type": "text/plain; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    message = clip_utf8(event.log_tail, MAX_MESSAGE) if event.log_tail else event.title
    return Request("POST", url, headers, message.encode("utf-8"))
