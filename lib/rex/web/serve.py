"""Serving the app with uvicorn, as a systemd Type=notify service or from a terminal.

We bind the socket ourselves: a port in use is one clear line and exit 75 (not uvicorn's
traceback), port 0 means "any free port" and the real one is told, and READY=1 goes to
systemd only once the socket listens. While the event loop runs, a task pings the
watchdog, so a wedged loop gets the service restarted. SIGTERM and SIGINT stop it
gracefully (uvicorn's handlers), with STOPPING=1.
"""

import asyncio
import signal
import socket

from .. import errors, log
from ..servicenotify import ServiceNotifier


def bind(host, port):
    """A listening TCP socket on host:port; TempFail (75) when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise errors.UsageError(f"--listen {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        code = errors.NOPERM if isinstance(exc, PermissionError) else errors.TEMPFAIL
        raise errors.RexError(f"cannot listen on {url_of(host, port)}: {exc.strerror}", code) from None
    sock.set_inheritable(False)
    return sock


def url_of(host, port):
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(app, sock, notifier=None, on_ready=None):
    """Run `app` on the listening `sock` until SIGTERM/SIGINT."""
    import uvicorn

    notifier = notifier or ServiceNotifier()
    host, port = sock.getsockname()[:2]
    url = url_of(host, port)
    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="off", server_header=False,
                            date_header=True, timeout_keep_alive=5, limit_concurrency=100,
                            h11_max_incomplete_event_size=16 * 1024)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if self.should_exit:
                return
            log.info(f"serving {url}")
            log.notice(f"listening on {url}")
            notifier.ready(f"serving {url}")
            if on_ready:
                on_ready(url)
            if notifier.watchdog_interval:
                self._watchdog = asyncio.get_running_loop().create_task(_watchdog(notifier))

        def handle_exit(self, sig, frame):
            # uvicorn raises a caught signal again after the graceful stop, so a service
            # stopped by SIGTERM would die of it; a SIGTERM stop is a success (exit 0).
            super().handle_exit(sig, frame)
            if sig == signal.SIGTERM:
                self._captured_signals = [s for s in self._captured_signals if s != signal.SIGTERM]

        async def shutdown(self, sockets=None):
            notifier.stopping("stopping")
            task = getattr(self, "_watchdog", None)
            if task:
                task.cancel()
            await super().shutdown(sockets=sockets)

    Server(config).run(sockets=[sock])


async def _watchdog(notifier):
    interval = notifier.watchdog_interval
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)


def settings(config, environ=None):
    """(host, port, token, {host: token}) from web.listen, web.token_file / $REX_WEB_TOKEN
    and web.hosts, checked: an address beyond loopback without a token, or a host token
    that cannot be read or is not the host's own, is a configuration error (78)."""
    from .access import ListenError, host_tokens, is_loopback, parse_listen, read_token

    listen = config.get("web.listen")
    try:
        host, port = parse_listen(listen)
    except ListenError as exc:
        raise _listen_error(config, exc) from None
    token_file = config.get("web.token_file")
    try:
        token = read_token(token_file, environ)
    except OSError as exc:
        raise errors.ConfigError(f"web.token_file {token_file}: {exc.strerror}") from None
    except ValueError as exc:
        raise errors.ConfigError(str(exc)) from None
    if token is None and not is_loopback(host):
        raise errors.ConfigError(f"{listen} is beyond loopback: rex-web needs a token there "
                                 "(web.token_file or REX_WEB_TOKEN)")
    try:
        hosts = host_tokens(config.get("web.hosts"), token)
    except OSError as exc:
        raise errors.ConfigError(f"web.hosts ({config.source('web.hosts')}): {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:
        raise errors.ConfigError(f"web.hosts ({config.source('web.hosts')}): {exc}") from None
    return host, port, token, hosts


def _listen_error(config, exc):
    source = config.source("web.listen")
    if source.startswith("option"):
        return errors.UsageError(f"--listen {exc}")
    return errors.ConfigError(f"web.listen ({source}): {exc}")


def run(config):
    """rex-web: serve the status of the backup root of `config` until stopped."""
    from .app import create_app
    from .status import Status

    host, port, token, hosts = settings(config)
    sock = bind(host, port)
    status = Status(config)
    app = create_app(status, token=token, hosts=hosts)
    try:
        serve(app, sock)
    finally:
        app.close()
    return errors.OK
