"""A monitor on loopback for tests: a real HTTP server that records every request it
gets (method, path, headers, body) and can be told to answer with an error or to hang."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests = []          # dicts: method, path, headers, body, status
        self.answers = []           # statuses (or "hang") to give, in order; then 200
        self.release = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def paths(self, status=None):
        return [r["path"] for r in self.requests if status is None or r["status"] == status]

    def wait_for(self, count, timeout=20):
        end = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < end:
            time.sleep(0.02)
        return self.requests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            answer = self.server.answers.pop(0) if self.server.answers else 200
        if answer == "hang":
            self.server.release.wait(120)
            return
        self.server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                     "body": body, "status": answer})
        self.send_response(answer)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


def serving():
    """A started Recorder, and the function that stops it."""
    srv = Recorder()
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    def stop():
        srv.release.set()
        srv.shutdown()
        srv.server_close()
    return srv, stop
