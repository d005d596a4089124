"""What a farm worker runs for a job: the local encode, on this worker's view of the paths.

`encode(spec)` maps the queuer's paths through this worker's farm.path_map, fails
fast naming the worker and the path when the source cannot be seen or the target
directory cannot be written, then runs the same media.encode.Encoder as the local
proxy-encode (.part, ffprobe check, rename, background priority). Progress goes to
the job's meta at most twice a second. A media problem is a result (ok false, with
code and message), not an exception: RQ's retries are for lost workers, not for a
source that will still be missing on the next try.
"""

import os
import socket
import time

from .. import errors

META_INTERVAL = 0.5     # seconds between two writes of a job's progress


class Context:
    """This worker's settings, loaded once per worker process (the horse inherits them)."""

    def __init__(self, config=None):
        from ..config import load
        from ..media.encode import find_ffmpeg
        from ..media.probe import find_ffprobe
        from .pathmap import PathMap

        config = config if config is not None else load(None, {})
        self.config = config
        try:
            self.paths = PathMap.from_config(config.get("farm.path_map"))
        except ValueError as exc:
            raise errors.ConfigError(f"farm.path_map: {exc}") from None
        self.ffmpeg, self.ffprobe = find_ffmpeg(config), find_ffprobe(config)
        self.nice = config.get("proxy.nice")
        self.threads = config.get("proxy.threads") or 1        # proxy-worker shares the cores
        self.host = socket.gethostname()


_context = None


def context(config=None):
    """The worker's Context (made on first use, or from `config` when given)."""
    global _context
    if _context is None or config is not None:
        _context = Context(config)
    return _context


def encode(spec, run=None):
    """Make the proxy `spec` describes; a result dict (ok, code, message, source, target, preset,
    skipped, facts, host, worker). `run(encoder, job)` does the work in place of Encoder.run
    (a chunk or the join of a long clip: proxy/farmsplit)."""
    from rq import get_current_job

    from .farmkey import version_key

    ctx = context()
    job = get_current_job()
    worker = (job.worker_name if job is not None else None) or f"{ctx.host}.{os.getpid()}"
    base = {"source": spec["source"], "target": spec["target"], "preset": spec.get("preset"),
            "host": ctx.host, "worker": worker}
    if spec.get("key") != version_key():      # a worker that checks keys never gets here
        return dict(base, ok=False, code=errors.TEMPFAIL,
                    message=f"worker {worker}: job key {spec.get('key')} is not this worker's {version_key()}")
    try:
        result = _encode(spec, ctx, job, worker, run)
    except errors.RexError as exc:
        return dict(base, ok=False, code=exc.code, message=exc.message)
    facts = result.facts.as_json() if result.facts else None
    if not result.ok:
        return dict(base, ok=False, code=result.code, message=f"worker {worker}: {result.message}")
    return dict(base, ok=True, code=errors.OK, message=result.message, preset=result.preset,
                skipped=result.skipped, facts=facts)


def _encode(spec, ctx, job, worker, run=None):
    from rq.timeouts import JobTimeoutException

    from ..media.encode import Encoder, Job
    from .farmspec import record_of

    source, target = ctx.paths.to_worker(spec["source"]), ctx.paths.to_worker(spec["target"])
    _check_paths(spec, source, target, worker)
    progress = _Progress(job, spec, ctx.host, worker)

    def started(_job, facts):
        problem = _differs(spec, facts)
        if problem:
            raise errors.DataError(f"worker {worker}: {source} is not the queuer's source: {problem}")
        progress.start()

    encoder = Encoder(ctx.ffmpeg, ctx.ffprobe, default_preset=spec["preset"], threads=ctx.threads, nice=ctx.nice,
                      on_start=started, on_progress=lambda _job, frame: progress.update(frame))
    try:
        return (run or Encoder.run)(encoder, Job(source, target, record_of(spec), spec["preset"],
                                                 spec.get("height") or "half"))
    except JobTimeoutException:
        encoder.stop()
        raise errors.TempFail(f"worker {worker}: {source}: the encode took longer than its timeout") from None


def _check_paths(spec, source, target, worker):
    """Fail fast, naming the worker and its path, when the source or the target's folder is out of reach."""
    seen = f" (the queuer's {spec['source']})" if source != spec["source"] else ""
    if not os.path.isfile(source):
        what = "is not a file" if os.path.exists(source) else "cannot be seen"
        raise errors.NoInput(f"worker {worker}: the source {source}{seen} {what}: check farm.path_map")
    if not os.access(source, os.R_OK):
        raise errors.NoPermission(f"worker {worker}: cannot read the source {source}{seen}")
    directory = os.path.dirname(target)
    existing = directory
    while existing and not os.path.isdir(existing):
        existing = os.path.dirname(existing) if existing != "/" else ""
    if not existing or not os.access(existing, os.W_OK | os.X_OK):
        raise errors.CantCreate(f"worker {worker}: cannot write the proxy folder {directory}"
                                + (f" (the queuer's {os.path.dirname(spec['target'])})" if target != spec["target"]
                                   else ""))


def _differs(spec, facts):
    """Why the worker's probe of the source is not the queuer's: '' when they agree."""
    rate = f"{facts.fps.numerator}/{facts.fps.denominator}" if facts.fps else None
    found = []
    if spec.get("frames") and facts.frames and facts.frames != spec["frames"]:
        found.append(f"{facts.frames} frames, not {spec['frames']}")
    if spec.get("rate") and rate and rate != spec["rate"]:
        found.append(f"rate {rate}, not {spec['rate']}")
    if spec.get("audio_streams") is not None and facts.audio_streams != spec["audio_streams"]:
        found.append(f"{facts.audio_streams} audio streams, not {spec['audio_streams']}")
    return "; ".join(found)


class _Progress:
    """Writes frame, frames, fps and host into the job's meta, at most every META_INTERVAL."""

    def __init__(self, job, spec, host, worker):
        self.job, self.spec = job, spec
        self.base = {"source": spec["source"], "frames": spec.get("frames"), "host": host, "worker": worker}
        self.started = time.monotonic()
        self.last = 0.0

    def start(self):
        self.started = time.monotonic()
        self._save(0, force=True)

    def update(self, frame):
        self._save(frame)

    def _save(self, frame, force=False):
        now = time.monotonic()
        if self.job is None or (not force and now - self.last < META_INTERVAL):
            return
        self.last = now
        elapsed = now - self.started
        self.job.meta.update(self.base, frame=frame, fps=round(frame / elapsed, 1) if elapsed > 0 else 0.0)
        try:
            self.job.save_meta()
        except Exception:       # Redis away for a moment: progress is not worth failing an encode
            pass


def remove_leftover(spec):
    """Remove the .part a killed or stopped encode of `spec` left, unless an encode holds it."""
    import fcntl

    from ..media.layout import part_path

    part = part_path(context().paths.to_worker(spec["target"]))
    try:
        fd = os.open(part, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(part)
    except OSError:         # another encode of the same proxy is writing it, or it is gone
        pass
    finally:
        os.close(fd)
