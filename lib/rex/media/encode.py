"""One proxy encode, start to finish, with nothing left half-done.

The source is probed, an existing proxy that still matches it is kept (so a
re-run is cheap and a crashed batch resumes), and otherwise ffmpeg writes
`NAME.mov.part`, which is checked with ffprobe (frame count, frame rate, start
timecode, audio streams) before it is renamed into place. ffmpeg runs at
background priority and dies with us (`runner.popen`); `stop()` kills every running encode and removes its
`.part`. Each `.part` is flock'ed while written, so a second run never encodes the
same proxy at the same time and a dead run's leftover is simply overwritten.
"""

import contextlib
import fcntl
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field

from .. import errors
from ..runner import disk_full, popen, stderr_tail
from . import layout, presets, probe


@dataclass
class Job:
    """One proxy to make: the source, where its proxy goes, the input record (start_tc...)."""

    source: str
    proxy: str
    record: dict = field(default_factory=dict)
    preset: str = None          # None: chosen by rules
    height: object = "half"


@dataclass
class EncodeResult:
    """How one Job ended: made, kept (`skipped`), or failed with an exit code and message."""

    source: str
    proxy: str
    code: int = errors.OK
    message: str = ""
    skipped: bool = False
    preset: str = None
    facts: object = None        # the proxy's Facts when it is good

    @property
    def ok(self):
        return self.code == errors.OK


class Encoder:
    """Runs Jobs (one per call, from any thread) and can stop them all at once."""

    def __init__(self, ffmpeg, ffprobe, rules=(), default_preset=presets.DEFAULT_PRESET, threads=1,
                 nice=10, on_start=None, on_progress=None, dry_run=False, slots=1):
        self.ffmpeg, self.ffprobe = ffmpeg, ffprobe
        self.rules, self.default_preset = rules, default_preset
        self.threads, self.nice = threads, nice
        self.on_start = on_start or (lambda job, facts: None)
        self.on_progress = on_progress or (lambda job, frame: None)
        self.dry_run = dry_run
        self._lock = threading.Lock()
        self._running = {}           # part path -> Popen
        # At most `slots` ffmpegs at once; the probes before and after run outside the
        # slots, so with more threads than slots they overlap the other encodes.
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self.stopping = False

    # -------------------------------------------------------------- public

    def run(self, job):
        """Make or keep the proxy of `job`; an EncodeResult, never an exception for a media problem."""
        try:
            return self._run(job)
        except errors.RexError as exc:
            return EncodeResult(job.source, job.proxy, exc.code, exc.message)
        except OSError as exc:
            err = errors.from_oserror(exc, exc.filename or job.proxy)
            return EncodeResult(job.source, job.proxy, err.code, err.message)

    def stop(self):
        """Kill every running ffmpeg and remove its .part (Ctrl-C, SIGTERM)."""
        self.stopping = True
        with self._lock:
            running = list(self._running.items())
        for part, proc in running:
            with contextlib.suppress(OSError):
                proc.kill()
        for part, proc in running:
            with contextlib.suppress(Exception):
                proc.wait(timeout=10)
            with contextlib.suppress(OSError):
                os.unlink(part)

    # ------------------------------------------------------------- details

    def inspect(self, job):
        """(source Facts, Plan, the EncodeResult of a valid existing proxy or None), before any
        encode: what a farm queuer needs to know of a job. RexError when the source is unusable."""
        if not os.path.isfile(job.source):
            what = "is not a file" if os.path.exists(job.source) else "no such file"
            raise errors.NoInput(f"{job.source}: {what}")
        try:
            src = probe.probe(job.source, self.ffprobe)
        except errors.DataError as exc:
            raise errors.RexError(errors.about(job.source, exc.message), errors.PARTIAL) from None
        preset = presets.choose_preset(job.source, src.width, src.height, self.rules, self.default_preset,
                                       job.preset)
        try:
            plan = presets.plan(job.source, layout.part_path(job.proxy), src, job.record, preset, job.height,
                                self.threads)
        except ValueError as exc:   # e.g. a source smaller than DNxHR's minimum frame
            raise errors.RexError(f"{job.source}: {preset}: {exc}", errors.PARTIAL) from None
        if os.path.exists(job.proxy):
            problems = self._check(src, job.proxy, plan.timecode)
            if isinstance(problems, probe.Facts):
                return src, plan, EncodeResult(job.source, job.proxy, skipped=True, preset=preset, facts=problems,
                                               message="a valid proxy exists")
            from .. import log

            log.info(f"{job.proxy}: encoding again: {'; '.join(problems)}")
        return src, plan, None

    def _run(self, job):
        src, plan, kept = self.inspect(job)
        preset = plan.preset
        if kept is not None:
            return kept
        if self.dry_run:
            return EncodeResult(job.source, job.proxy, preset=preset, message="would encode")
        directory = os.path.dirname(job.proxy)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise errors.from_oserror(exc, f"cannot create {directory}") from None
        with _locked(plan.part) as got:
            if not got:
                raise errors.TempFail(f"{job.source}: another run is encoding {plan.part}")
            try:
                with self._slots:
                    self._encode(job, plan, src)
                facts = self._check(src, plan.part, plan.timecode)
                if not isinstance(facts, probe.Facts):
                    raise errors.RexError(f"{job.source}: the encoded proxy does not match its source: "
                                          f"{'; '.join(facts)}", errors.PARTIAL)
                from ..fsutil import commit

                commit(plan.part, job.proxy, replace=True)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(plan.part)
        return EncodeResult(job.source, job.proxy, preset=preset, facts=facts)

    def _check(self, src, path, timecode):
        """The proxy's Facts when it can stand in for `src`, else the list of differences."""
        try:
            facts = probe.probe(path, self.ffprobe)
        except errors.DataError as exc:
            return [exc.message]
        return probe.differences(src, facts, timecode, presets.same_timecode) or facts

    def _encode(self, job, plan, src):
        argv = presets.ffmpeg_argv(self.ffmpeg, plan)
        if self.stopping:
            raise errors.RexError("interrupted", 130)
        self.on_start(job, src)
        with tempfile.TemporaryFile() as err:
            try:
                proc = popen(argv, nice=self.nice, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=err)
            except OSError as exc:
                raise errors.Unavailable(f"{self.ffmpeg}: cannot run: {exc.strerror}") from None
            with self._lock:
                self._running[plan.part] = proc
            try:
                parser = progress_parser()
                for raw in proc.stdout:
                    block = parser.feed(raw.decode("ascii", "replace"))
                    if block is not None:
                        self.on_progress(job, _frame(block))
                proc.stdout.close()
                code = proc.wait()
            finally:
                with self._lock:
                    self._running.pop(plan.part, None)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if self.stopping:
                raise errors.RexError("interrupted", 130)
            if code != 0:
                err.seek(0)
                text = err.read().decode("utf-8", "replace")
                tail = stderr_tail(text, 3)
                if disk_full(text):     # the run's condition, not this clip's: 74, like a failed write
                    raise errors.IOFailure(f"{plan.part}: disk full: {tail}")
                raise errors.RexError(f"{job.source}: ffmpeg failed (exit {code})" + (f": {tail}" if tail else ""),
                                      errors.PARTIAL)


def find_ffmpeg(config=None):
    """The ffmpeg to run (`probe.find_tool`)."""
    return probe.find_tool("ffmpeg", config)


def progress_parser():
    from .progress import ProgressParser

    return ProgressParser()


def _frame(block):
    from .progress import frame_of

    return frame_of(block)


@contextlib.contextmanager
def _locked(part):
    """Hold an exclusive flock on `part` (created if needed); yields False when another run holds it."""
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


