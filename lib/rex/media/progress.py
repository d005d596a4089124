"""ffmpeg's `-progress pipe:1` blocks, and an aggregate bar for a terminal.

ffmpeg prints key=value lines and ends each block with `progress=continue` (or
`end`); `out_time_us` and, despite its name, `out_time_ms` are microseconds. The
bar is drawn on stderr only when it is a terminal, so a pipe or a journal gets
nothing but the per-file messages.
"""

import os
import sys
import threading
import time


class ProgressParser:
    """Feed lines; `feed` returns the finished block (a dict) at each `progress=` line."""

    def __init__(self):
        self._block = {}

    def feed(self, line):
        line = line.strip()
        if "=" not in line:
            return None
        key, _, value = line.partition("=")
        self._block[key.strip()] = value.strip()
        if key == "progress":
            block, self._block = self._block, {}
            return block
        return None


def frame_of(block):
    try:
        return int(block.get("frame", 0))
    except ValueError:
        return 0


def bar_line(done, total, files_done, files_total, width=30, elapsed=None):
    """One line of the aggregate bar: '[#####.....]  42%  3/8 files  ETA 1:05'."""
    fraction = min(1.0, done / total) if total else 0.0
    filled = int(width * fraction)
    text = f"[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:3.0f}%  {files_done}/{files_total} files"
    if elapsed and fraction > 0.01:
        left = int(elapsed * (1 - fraction) / fraction)
        text += f"  ETA {left // 60}:{left % 60:02d}"
    return text


class Display:
    """The aggregate progress bar (frames done of frames known) with per-file lines above it."""

    def __init__(self, enabled=None, stream=None):
        self.stream = stream or sys.stderr
        if enabled is None:
            try:
                enabled = os.isatty(self.stream.fileno())
            except (AttributeError, OSError, ValueError):
                enabled = False
        self.enabled = enabled
        self._lock = threading.Lock()
        self._frames = {}        # source -> (done, total)
        self._files_total = 0
        self._files_done = 0
        self._started = time.monotonic()
        self._last = 0.0
        self.suffix = ""         # more for the bar's line (the farm's fps and busy workers)

    def add(self, source, total):
        with self._lock:
            self._frames[source] = (0, total or 0)
            self._files_total += 1

    def update(self, source, done):
        with self._lock:
            if source in self._frames:
                self._frames[source] = (done, self._frames[source][1])
            now = time.monotonic()
            if now - self._last >= 0.2:
                self._last = now
                self._draw()

    def finish(self, source, line=None):
        """A file is done (or failed): print `line` above the bar and count it."""
        with self._lock:
            if source not in self._frames:
                self._files_total += 1
            done, total = self._frames.get(source, (0, 0))
            self._frames[source] = (total or done, total)
            self._files_done += 1
            if self.enabled and line:
                self._write("\r\033[K" + line + "\n")
            self._draw()

    def message(self, line):
        """Print a message line without tearing the bar."""
        with self._lock:
            if self.enabled:
                self._write("\r\033[K")
            self._write(line + "\n")
            self._draw()

    def error(self, message, source=None):
        """Report an error above the bar (counting `source` as done), or through the log
        when there is no bar."""
        from .. import log

        if not self.enabled:
            log.error(message)
        elif source:
            self.finish(source, f"{log.prog()}: error: {message}")
        else:
            self.message(f"{log.prog()}: error: {message}")

    def close(self):
        with self._lock:
            if self.enabled:
                self._write("\r\033[K")
            self.enabled = False

    def _draw(self):
        if not self.enabled:
            return
        done = sum(d for d, _ in self._frames.values())
        total = sum(t for _, t in self._frames.values())
        self._write("\r\033[K" + bar_line(done, total, self._files_done, self._files_total,
                                          elapsed=time.monotonic() - self._started) + self.suffix)

    def _write(self, text):
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass
