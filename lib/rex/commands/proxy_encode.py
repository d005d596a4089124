"""proxy-encode: make the proxies Resolve links to their sources, several at a time."""

import os

import click

from .. import errors, log
from ..cli import rex_command
from ..config.schema import PROXY_PRESETS


@rex_command(
    "proxy-encode",
    config_keys={"proxy_root": "proxy_root", "height": "proxy.height", "jobs": "proxy.jobs",
                 "threads": "proxy.threads", "farm_wait": "farm.wait", "fallback": "farm.fallback"},
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
@click.option("--farm", metavar="URL", is_flag=False, flag_value="",
              help="Queue the encodes on the farm's Redis (URL, else farm.redis_url or REX_FARM_URL) for "
                   "proxy-worker processes; the password from REX_FARM_PASSWORD or farm.password_file.")
@click.option("--farm-wait", metavar="DURATION",
              help="With --farm: wait this long for a worker of this version, or for a lost Redis (default 3m).")
@click.option("--fallback", type=click.Choice(("local", "none")),
              help="With --farm: when no worker came, encode here (local) or exit 75 (none, the default).")
def command(inv, paths, proxy_root, proxy_subfolder, preset, height, jobs, threads, no_nice, dry_run, farm,
            farm_wait, fallback):
    """Encode a proxy for each source video given as PATH operands or on stdin (paths or
    proxy-scan JSON records) and print SOURCE<TAB>PROXY for each proxy that is ready."""
    from functools import partial

    from ..media.encode import Encoder, find_ffmpeg
    from ..media.layout import proxy_path
    from ..media.probe import find_ffprobe
    from ..media.progress import Display
    from ..parallel import prefetch
    from ..proxy import pool
    from ..proxy.jobs import encode_jobs, with_problems

    config = inv.config
    workers, per_job = pool.sizes(config.get("proxy.jobs"), config.get("proxy.threads"), os.cpu_count() or 1)
    display = Display(enabled=None if inv.verbosity >= 0 else False)
    encoder = Encoder(find_ffmpeg(config), find_ffprobe(config), rules=config.get("proxy.rules"),
                      default_preset=config.get("proxy.preset"), threads=per_job,
                      nice=0 if no_nice else config.get("proxy.nice"),
                      on_start=lambda job, facts: display.add(job.source, facts.frames),
                      on_progress=lambda job, frame: display.update(job.source, frame), dry_run=dry_run,
                      slots=workers)
    codes = []

    def problem(code, message):
        codes.append(code)
        display.error(message)

    def finish(result):
        codes.append(result.code)
        if not result.ok:
            display.error(errors.about(result.source, result.message), source=result.source)
        elif dry_run and not result.skipped:
            display.finish(result.source)
            log.notice(f"would encode {result.source} -> {result.proxy} ({result.preset})")
        else:
            what = "kept" if result.skipped else f"encoded ({result.preset})"
            display.finish(result.source, f"{what}: {result.proxy}")
            log.info(f"{result.source}: {what}: {result.proxy}")
            facts = result.facts.as_json() if result.facts else {}
            inv.out.pair(result.source, result.proxy, preset=result.preset, skipped=result.skipped, **facts)

    place = partial(proxy_path, root=None if proxy_subfolder else config.get("proxy_root"),
                    subfolder=config.get("proxy.subfolder"))
    if farm is not None and not dry_run:
        from ..proxy.farm import open_pool

        encodes = open_pool(config, farm, encoder, display, lambda: pool.LocalPool(encoder, workers),
                            list_workers=inv.verbosity > 0)
    else:
        encodes = pool.LocalPool(encoder, workers)
    items = prefetch(with_problems(lambda on_error: inv.records(paths, on_error=on_error)))
    try:
        pool.run(encodes, encode_jobs(items, place, preset, config.get("proxy.height"), problem), finish)
    except pool.Terminated:
        raise errors.RexError("terminated", 143) from None
    finally:
        display.close()
    return errors.worst(codes)
