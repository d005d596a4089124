"""Sending one request to a monitor: short timeouts, a few retries, never an exception.

requests is imported here, lazily, and only when a job has an HTTP monitor: it
costs more start-up time than the rest of a command.
"""

from dataclasses import dataclass, field

BACKOFF = 0.5           # seconds; urllib3 waits 0, then BACKOFF * 2 ** (n - 1) before try n + 1
RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict = field(default_factory=dict)
    body: bytes = b""


def check_token(token, source):
    """`token` stripped; ValueError naming `source` (never the token) for an empty one or one
    with spaces or control characters: an accident, never a token worth guarding with."""
    token = token.strip()
    if not token:
        raise ValueError(f"{source}: the token is empty")
    if not token.isascii() or not token.isprintable() or " " in token:
        raise ValueError(f"{source}: the token must be printable ASCII without spaces")
    return token


def token_from_file(path):
    """The bearer token on the first line of `path` (a token never comes from argv, where
    every user of the machine reads it in ps); OSError, or ValueError (check_token)."""
    with open(path, encoding="utf-8") as f:
        return check_token(f.readline(), str(path))


def budget(timeout, retries):
    """The longest one monitor may take: every try's connect and one read timeout,
    plus the pauses between tries. The dispatcher stops waiting after that even if
    a server trickles its answer byte by byte."""
    pauses = sum(BACKOFF * 2 ** (n - 1) for n in range(2, retries + 1))
    return (retries + 1) * 2 * timeout + pauses


def send(request, timeout, retries):
    """POST the request; None when the monitor took it, else why not (one short phrase,
    never the URL: its path is often the secret)."""
    try:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry
    except ImportError:
        return "the Python package requests is not installed"
    retry = Retry(total=retries, connect=retries, read=retries, status=retries, other=0,
                  allowed_methods=None, status_forcelist=RETRY_STATUSES, backoff_factor=BACKOFF,
                  raise_on_status=False, respect_retry_after_header=False)
    try:
        with requests.Session() as session:
            adapter = HTTPAdapter(max_retries=retry)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            response = session.request(request.method, request.url, headers=request.headers, data=request.body,
                                       timeout=(timeout, timeout))
            if response.status_code >= 400:
                return f"answered HTTP {response.status_code} {response.reason or ''}".rstrip()
            return None
    except requests.RequestException as exc:
        return _why(exc, timeout, retries)
    except Exception as exc:  # a monitor must never fail the job, whatever broke
        return f"{type(exc).__name__}: {exc}"


def _why(exc, timeout, retries):
    tries = f" ({retries + 1} tries)" if retries else ""
    text = " ".join(str(a) for a in exc.args).lower()
    if "timed out" in text or "timeout" in type(exc).__name__.lower():
        return f"no answer within {timeout:g} s{tries}"
    if "refused" in text:
        return f"connection refused{tries}"
    if "name or service not known" in text or "nodename nor servname" in text or "name resolution" in text:
        return "cannot resolve its host name"
    if "ssl" in text or "certificate" in text:
        return "TLS error (certificate or protocol)"
    if "remote end closed" in text or "connection aborted" in text or "reset by peer" in text:
        return f"closed the connection{tries}"
    return f"{type(exc).__name__}{tries}"
