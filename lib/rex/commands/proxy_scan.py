"""proxy-scan: list the source clips that need proxies (from Resolve, or files)."""

import click

from .. import errors, log
from ..cli import rex_command


@rex_command(
    "proxy-scan",
    config_keys={"extensions": "scan.extensions", "include": "scan.include", "exclude": "scan.exclude",
                 "fps": "scan.fps", "min_resolution": "scan.min_resolution", "relink": "scan.relink"},
)
@click.option("--timeline", "timeline_patterns", multiple=True, metavar="NAME",
              help="Scan the timeline(s) matching NAME (a glob; 'current' for the current one).")
@click.option("--all-timelines", is_flag=True, help="Scan every timeline of the current project.")
@click.option("--media-pool", "media_pool", is_flag=False, flag_value="", default=None, metavar="[FOLDER]",
              help="Scan the media pool (or FOLDER in it, A/B from the root) instead of timelines.")
@click.option("--relink", is_flag=True, help="Include clips whose proxy is linked and online.")
@click.option("--extension", "extensions", multiple=True, metavar="EXT",
              help="Only files with this extension (repeat; default: common video formats).")
@click.option("--include", multiple=True, metavar="GLOB", help="Only paths matching GLOB (repeat).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out paths matching GLOB (repeat).")
@click.option("--fps", multiple=True, metavar="RATE", help="Only clips of this frame rate (23.976, 25, 30000/1001).")
@click.option("--min-resolution", metavar="WxH", help="Only clips at least this large (WxH, or a height).")
@click.argument("operands", nargs=-1, type=click.Path())
def command(inv, timeline_patterns, all_timelines, media_pool, relink, extensions, include, exclude, fps,
            min_resolution, operands):
    """Write the source file of every clip that needs a proxy: by default those
    on the current timeline of the project open in Resolve; or the files found
    in the directories and files given as operands."""
    from ..media.rates import parse_rate
    from ..proxy.filters import Filters, parse_minimum

    config = inv.config
    for rate in config.get("scan.fps"):
        if parse_rate(rate) is None:
            raise errors.UsageError(f"--fps: not a frame rate: {rate!r}")
    try:
        minimum = parse_minimum(config.get("scan.min_resolution"))
    except ValueError as exc:
        raise errors.UsageError(f"--min-resolution: {exc}") from None
    filters = Filters(extensions=tuple(config.get("scan.extensions")), include=tuple(config.get("scan.include")),
                      exclude=tuple(config.get("scan.exclude")), fps=tuple(config.get("scan.fps")),
                      minimum=minimum)
    resolve_given = bool(timeline_patterns or all_timelines or media_pool is not None)
    if operands and resolve_given:
        raise errors.UsageError("give either files and directories or a Resolve source, not both")
    if sum(map(bool, (timeline_patterns, all_timelines, media_pool is not None))) > 1:
        raise errors.UsageError("--timeline, --all-timelines and --media-pool exclude each other")
    from ..proxy import scan as proxyscan
    from ..media.probe import prober

    if operands:
        found = proxyscan.scan_files(_operands(inv, operands), filters, want_facts=inv.json,
                                        probe=prober(config))
    else:
        found = proxyscan.scan_resolve(filters, timeline_patterns=timeline_patterns,
                                       all_timelines=all_timelines, media_pool=media_pool,
                                       relink=config.get("scan.relink"), want_facts=inv.json,
                                       probe=prober(config))
    codes = []
    for kind, value in found:
        if kind == "clip":
            inv.out.obj(value)
        else:
            code, message = value
            log.error(message)
            codes.append(code)
    return errors.worst(codes)


def _operands(inv, operands):
    """Operands as paths; `-` reads records (paths or JSON with a path) from stdin there."""
    for operand in operands:
        if operand == "-":
            for record in inv.records(["-"]):
                if record.path:
                    yield record.path
                else:
                    log.error("record without a path skipped")
        else:
            yield operand
