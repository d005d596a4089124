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
    environ = os.environ if environ is None else environ
    if token_file:
        with open(token_file, encoding="utf-8") as f:
            token, source = f.readline().strip(), str(token_file)
    elif environ.get(TOKEN_ENV) is not None:
        token, source = environ[TOKEN_ENV].strip(), TOKEN_ENV
    else:
        return None
    if not token:
        raise ValueError(f"{source}: the token is empty")
    if not token.isascii() or not token.isprintable() or " " in token:
        raise ValueError(f"{source}: the token must be printable ASCII without spaces")
    return token


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
