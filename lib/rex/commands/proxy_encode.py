"""proxy-encode: make the proxies Resolve links to their sources, several at a time."""

import os
import signal

import click

from .. import errors, log
from ..cli import rex_command
from ..config.schema import PROXY_PRESETS


@rex_command(
    "proxy-encode",
    config_keys={"proxy_root": "proxy_root", "height": "proxy.height", "jobs": "proxy.jobs",
                 "threads": "proxy.threads"},
)
@click.argument("paths", nargs=-1)
@click.option("--proxy-root", metavar="DIR", help="Mirror each source's path under DIR.")
@click.option("--proxy-subfolder", is_flag=True,
              help="Put each proxy in a Proxy folder next to its source, even if a proxy root is set.")
@click.option("--preset", type=click.Choice(PROXY_PRESETS), metavar="NAME",
              help=f"Use this preset for every clip, not the rules: {', '.join(PROXY_PRESETS)}.")
@click.option("--height", metavar="H", help="Proxy height: pixels, or original, half, quarter, eighth, sixteenth.")
@click.option("-j", "--jobs", type=click.IntRange(0, 256), metavar="N", help="Encodes at once (default: one per core).")
@click.option("--threads", type=click.IntRange(0, 256), metavar="N", help="Threads per encode (default: cores / jobs).")
@click.option("--no-nice", is_flag=True, help="Run ffmpeg at normal priority.")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be encoded; encode nothing.")
def command(inv, paths, proxy_root, proxy_subfolder, preset, height, jobs, threads, no_nice, dry_run):
    """Encode a proxy for each source video given as PATH operands or on stdin (paths or
    proxy-scan JSON records) and print SOURCE<TAB>PROXY for each proxy that is ready."""
    from ..media.encode import Encoder, Job
    from ..media.layout import proxy_path
    from ..media.probe import find_ffprobe
    from ..media.progress import Display
    from ..runner import find_program

    config = inv.config
    ffmpeg = find_program("ffmpeg", config.get("proxy.ffmpeg"))
    ffprobe = find_ffprobe(config)
    cores = os.cpu_count() or 1
    workers = config.get("proxy.jobs") or cores
    per_job = config.get("proxy.threads") or max(1, cores // workers)
    root = None if proxy_subfolder else config.get("proxy_root")
    subfolder = config.get("proxy.subfolder")
    display = Display(enabled=None if inv.verbosity >= 0 else False)
    encoder = Encoder(ffmpeg, ffprobe, rules=config.get("proxy.rules"), default_preset=config.get("proxy.preset"),
                      threads=per_job, nice=0 if no_nice else config.get("proxy.nice"),
                      on_start=lambda job, facts: display.add(job.source, facts.frames),
                      on_progress=lambda job, frame: display.update(job.source, frame), dry_run=dry_run,
                      slots=workers)
    codes = []
    claimed = {}        # proxy path -> source, so two sources never share a proxy
    started = set()

    def jobs_from_input():
        """Jobs, and None while the input is quiet (so finished encodes are reported meanwhile)."""
        from ..parallel import IDLE, prefetch

        for item in prefetch(_records(inv, paths)):
            if item is IDLE:
                yield None
                continue
            record, problem = item
            if problem is not None:
                codes.append(problem.code)
                _say_error(display, problem.message)
                continue
            source = os.path.abspath(record["path"])
            try:
                proxy = proxy_path(source, root, subfolder)
            except errors.RexError as exc:
                codes.append(exc.code)
                _say_error(display, exc.message)
                continue
            other = claimed.setdefault(proxy, source)
            if other == source and proxy in started:
                log.info(f"{record['path']}: given again; encoded once")
                continue
            started.add(proxy)
            if other != source:
                codes.append(errors.CANTCREAT)
                _say_error(display, f"{record['path']}: its proxy {proxy} is already the proxy of {other}")
                continue
            yield Job(record["path"], proxy, dict(record), preset, config.get("proxy.height"))

    def finish(outcome):
        codes.append(outcome.code)
        if not outcome.ok:
            _say_error(display, errors.about(outcome.source, outcome.message), source=outcome.source)
            return
        if dry_run and not outcome.skipped:
            display.finish(outcome.source)
            log.notice(f"would encode {outcome.source} -> {outcome.proxy} ({outcome.preset})")
            return
        what = "kept" if outcome.skipped else f"encoded ({outcome.preset})"
        display.finish(outcome.source, f"{what}: {outcome.proxy}")
        log.info(f"{outcome.source}: {what}: {outcome.proxy}")
        facts = outcome.facts.as_json() if outcome.facts else {}
        inv.out.pair(outcome.source, outcome.proxy, preset=outcome.preset, skipped=outcome.skipped, **facts)

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        _parallel(encoder, jobs_from_input(), workers, finish)
    finally:
        display.close()
        signal.signal(signal.SIGTERM, previous)
    return errors.worst(codes)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop the encodes and remove their .part files."""


def _terminate(signum, frame):
    raise Terminated()


def _say_error(display, message, source=None):
    if display.enabled:
        display.finish(source, f"{log.prog()}: error: {message}") if source else display.message(
            f"{log.prog()}: error: {message}")
    else:
        log.error(message)


def _records(inv, operands):
    """(Record, None) per input record, or (None, DataError) for a malformed one, in input
    order (the reader goes on after it), so the main thread reports it beside the encodes."""
    problems = []
    for record in inv.records(operands, on_error=problems.append):
        while problems:
            yield None, problems.pop(0)
        yield record, None
    while problems:
        yield None, problems.pop(0)


def _parallel(encoder, jobs, workers, finish):
    """encoder.run on threads; finish(outcome) in the main thread as each ends.

    Twice as many threads as encode slots: while `workers` ffmpegs run, the
    others probe the next sources and check finished proxies.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    threads = 2 * workers
    pool = ThreadPoolExecutor(max_workers=threads)
    pending = set()
    try:
        for job in jobs:
            if job is None:         # the input is quiet: report what has finished meanwhile
                done, pending = wait(pending, timeout=0, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(future.result())
                continue
            pending.add(pool.submit(encoder.run, job))
            while len(pending) >= threads:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(future.result())
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                finish(future.result())
    except BaseException:
        encoder.stop()          # before the pool waits for its threads
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
