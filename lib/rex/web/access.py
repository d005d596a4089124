"""Who may ask rex-web: where it listens, whether that needs a token, and the token check.

Pure decisions (parse an address, is it loopback, does a request carry the token) plus
reading the token from `web.token_file` or `$REX_WEB_TOKEN`: a token never comes from
argv, where every user of the machine could read it in ps.
"""

import base64
import binascii
import hmac
import ipaddress
import os

DEFAULT_LISTEN = "127.0.0.1:8470"
TOKEN_ENV = "REX_WEB_TOKEN"


class ListenError(ValueError):
    """A --listen/web.listen value that is not HOST:PORT."""


def parse_listen(text):
    """(host, port) of `HOST:PORT`, `[V6]:PORT` or `:PORT` (loopback); ListenError otherwise."""
    text = (text or "").strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ListenError(f"{text!r}: write an IPv6 address as [ADDR]:PORT")
        port = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ListenError(f"{text!r}: {host!r} is not an IPv6 address") from None
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise ListenError(f"{text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
        if ":" in host:
            raise ListenError(f"{text!r}: write an IPv6 address as [ADDR]:PORT")
        host = host or "127.0.0.1"
        if not all(c.isalnum() or c in ".-_" for c in host):
            raise ListenError(f"{text!r}: {host!r} is not a host name or address")
    if not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise ListenError(f"{text!r}: the port must be a number from 0 to 65535")
    return host, int(port)


def is_loopback(host, resolve=None):
    """True when every address `host` stands for is a loopback address.

    `localhost` and literal addresses are decided without DNS; any other name through
    `resolve(host) -> [address]` (getaddrinfo by default), so a name that also reaches
    the network counts as beyond loopback.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    addresses = (resolve or _resolve)(host)
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def _resolve(host):
    import socket

    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except OSError:
        return []


def read_token(token_file=None, environ=None):
    """The token from `token_file` (first line) else $REX_WEB_TOKEN; None when neither is set.

    OSError for a file that cannot be read; ValueError for an empty token or one with
    spaces or control characters (an accident, never a token worth guarding with).
    """
    from ..monitor.http import check_token, token_from_file

    environ = os.environ if environ is None else environ
    if token_file:
        return token_from_file(token_file)
    if environ.get(TOKEN_ENV) is not None:
        return check_token(environ[TOKEN_ENV], TOKEN_ENV)
    return None


def host_tokens(files, token=None):
    """{host: token} of web.hosts ({host: token file}); OSError for a file that cannot be
    read, ValueError (naming hosts and files, never a token) for a bad token, one shared by
    two hosts or the shared token itself: a host's token must say which host posts."""
    from ..monitor.http import token_from_file

    tokens, owner = {}, {}
    for host, path in (files or {}).items():
        try:
            found = token_from_file(path)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, f"{host}: {path}") from None
        except ValueError as exc:
            raise ValueError(f"{host}: {exc}") from None
        if token is not None and hmac.compare_digest(found.encode(), token.encode()):
            raise ValueError(f"{host}: {path} holds the shared token (web.token_file, {TOKEN_ENV}); "
                             "a host needs a token of its own")
        if found in owner:
            raise ValueError(f"{owner[found]} and {host} have the same token; each host needs its own")
        owner[found] = host
        tokens[host] = found
    return tokens


def poster(authorization, token, hosts):
    """Who an event post speaks for: a host of `hosts` ({host: token}) whose token it carries,
    "" for the shared `token`, None for no valid token. Every token is compared (in constant
    time each), so the answer's timing says nothing about which one nearly matched."""
    given = presented_token(authorization)
    if given is None:
        return None
    found = "" if token is not None and hmac.compare_digest(given.encode(), token.encode()) else None
    for host, host_token in hosts.items():
        if hmac.compare_digest(given.encode(), host_token.encode()):
            found = host
    return found


def presented_token(authorization):
    """The token an Authorization header carries: `Bearer TOKEN` (API clients, rex-report's
    webhook) or `Basic` with the token as password (what a browser's login prompt sends)."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def token_matches(authorization, token):
    """True when the header carries exactly `token` (compared in constant time)."""
    given = presented_token(authorization)
    return given is not None and token is not None and hmac.compare_digest(given.encode(), token.encode())
