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
    from ..media.probe import prober
    from ..proxy import scan
    from ..proxy.filters import from_settings

    config = inv.config
    filters = from_settings(config.get("scan.extensions"), config.get("scan.include"), config.get("scan.exclude"),
                            config.get("scan.fps"), config.get("scan.min_resolution"))
    resolve_given = bool(timeline_patterns or all_timelines or media_pool is not None)
    if operands and resolve_given:
        raise errors.UsageError("give either files and directories or a Resolve source, not both")
    if sum(map(bool, (timeline_patterns, all_timelines, media_pool is not None))) > 1:
        raise errors.UsageError("--timeline, --all-timelines and --media-pool exclude each other")
    if operands:
        found = scan.scan_files(scan.operand_paths(operands, lambda: inv.records(["-"])), filters,
                                want_facts=inv.json, probe=prober(config))
    else:
        found = scan.scan_resolve(filters, timeline_patterns=timeline_patterns, all_timelines=all_timelines,
                                  media_pool=media_pool, relink=config.get("scan.relink"), want_facts=inv.json,
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
