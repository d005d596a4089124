"""Finding the clips that need proxies: in Resolve (timelines, media pool) or on disk.

Both scanners are generators of ("clip", facts) and ("error", (code, message)),
so the command decides how to write records and report problems.
"""

import fnmatch
import os

from .. import errors, log
from ..media.probe import prober

CURRENT = "current"


def choose_timelines(names, current, patterns, all_timelines):
    """Indexes of the timelines to scan (pure): ([index], [patterns matching none]).

    `names` are the project's timeline names in order, `current` the index of the
    current one (None when there is none). The pattern `current` is the current
    timeline; others are shell globs on the names.
    """
    if all_timelines:
        return list(range(len(names))), []
    if not patterns:
        return ([current] if current is not None else []), []
    chosen, unmatched = [], []
    for pattern in patterns:
        if pattern == CURRENT and CURRENT not in names:
            hits = [current] if current is not None else []
        else:
            hits = [i for i, n in enumerate(names) if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            unmatched.append(pattern)
        chosen.extend(i for i in hits if i not in chosen)
    return chosen, unmatched


def scan_resolve(filters, timeline_patterns=(), all_timelines=False, media_pool=None, relink=False,
                 want_facts=False, probe=None):
    """Clips of the current project that need a proxy, de-duplicated by media id.

    A pass during which the project's handles went stale (the user reloaded it) may
    have seen None for some clips; the scan then goes over it again with fresh handles,
    skipping what it already wrote. Another project opened meanwhile is a TempFail.
    """
    from ..resolve import api, media

    pm, project = media.open_project()
    name, project_id = media.project_identity(project)
    database = api.database_name(pm.GetCurrentDatabase())
    probe = probe or prober()
    seen = set()
    for _attempt in range(3):
        sources = _sources(project, name, timeline_patterns, all_timelines, media_pool)
        yield from _needing_proxies(sources, filters, relink, want_facts, probe, seen,
                                    dict(database=database, project=name, project_id=project_id))
        if media.still_open(project):
            return
        project = media.reopened(pm, name, project_id)
    raise errors.TempFail(f"project {name!r} kept being reloaded in DaVinci Resolve; run again")


def _sources(project, name, timeline_patterns, all_timelines, media_pool):
    """(timeline name or None, media pool item) for every clip the scan looks at."""
    from ..resolve import media

    if media_pool is not None:
        root = project.GetMediaPool().GetRootFolder()
        folder = media.bin_at(root, [p for p in media_pool.split("/") if p]) if root is not None else None
        if folder is None:
            if not media.still_open(project):
                return ()
            raise errors.UsageError(f"no media pool folder {media_pool!r} in project {name!r}")
        return ((None, item) for item in media.pool_items(folder))
    tls = media.timelines(project)
    names = [tl.GetName() for tl in tls]
    current_tl = project.GetCurrentTimeline()
    current_name = current_tl.GetName() if current_tl is not None else None
    current = names.index(current_name) if current_name in names else None
    chosen, unmatched = choose_timelines(names, current, timeline_patterns, all_timelines)
    if unmatched:
        raise errors.UsageError(f"no timeline matches {', '.join(map(repr, unmatched))} in project {name!r}")
    if not chosen:
        log.notice(f"project {name!r} has no {'timeline' if all_timelines else 'current timeline'}")
    return ((names[i], ti.GetMediaPoolItem()) for i in chosen for ti in media.video_items(tls[i]))


def _needing_proxies(sources, filters, relink, want_facts, probe, seen, where):
    from ..resolve import media

    for timeline, item in sources:
        if item is None:
            continue                      # titles, generators (or a handle gone stale)
        media_id = item.GetMediaId()
        if media_id is None or media_id in seen:
            continue                      # None: the handle went stale; the next pass sees it
        props = item.GetClipProperty()
        if props is None:
            continue
        seen.add(media_id)
        facts = media.clip_facts(props)
        path = facts["path"]
        if not path:
            log.debug(f"{facts['name']}: generated media or a timeline, no file")
            continue
        if not facts["resolution"]:
            log.debug(f"{path}: no video")
            continue
        state = media.proxy_state(facts["proxy"])
        if state == "online" and not relink:
            log.info(f"{path}: proxy linked and online ({facts['proxy']})")
            continue
        why = filters.rejects(path, facts["fps"], facts["resolution"])
        if why:
            log.debug(f"{path}: left out by the {why} filter")
            continue
        if not os.path.isfile(path):
            yield "error", (errors.PARTIAL, f"{path}: source file missing (clip {facts['name']!r}"
                                            + (f" on timeline {timeline!r})" if timeline else ")"))
            continue
        record = {"path": path, "media_id": media_id, "database": where["database"],
                  "project": where["project"], "project_id": where["project_id"], "timeline": timeline,
                  "fps": facts["fps"], "frames": facts["frames"], "start_tc": facts["start_tc"],
                  "resolution": facts["resolution"], "hflip": facts["hflip"], "vflip": facts["vflip"],
                  "data_level": facts["data_level"], "audio_ch": facts["audio_ch"], "audio_tracks": None,
                  "proxy": state, "proxy_path": facts["proxy_path"] or None}
        if want_facts:
            try:
                record["audio_tracks"] = probe(path).audio_streams
            except errors.Unavailable:
                raise
            except errors.RexError as exc:
                log.warning(errors.about(path, exc.message))
        yield "clip", record


def walk_files(operand):
    """Files under a directory operand (sorted; hidden entries, Proxy folders and .part skipped)."""
    for top, dirs, files in os.walk(operand):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "Proxy")
        for f in sorted(files):
            if not f.startswith(".") and not f.endswith(".part"):
                yield os.path.join(top, f)


def operand_paths(operands, read):
    """The operands as paths; `-` stands for the paths of the records `read()` yields
    there (paths, or JSON with a path), a record without one skipped with an error."""
    for operand in operands:
        if operand != "-":
            yield operand
            continue
        for record in read():
            if record.path:
                yield record.path
            else:
                log.error("record without a path skipped")


def scan_files(operands, filters, want_facts=False, probe=None):
    """Video files among the operands (directories are walked).

    Every candidate is probed, whatever the output: a file without a video stream is
    named and left out, one ffprobe cannot read is an error (65), so plain and JSON
    output list the same clips.
    """
    from ..media.probe import NoVideo

    probe = probe or prober()
    seen = set()
    for operand in operands:
        if os.path.isdir(operand):
            paths = walk_files(operand)
        elif os.path.exists(operand):
            paths = [operand]
        else:
            yield "error", (errors.NOINPUT, f"{operand}: no such file or directory")
            continue
        for path in paths:
            path = os.path.abspath(path)
            if path in seen:
                continue
            seen.add(path)
            if filters.rejects(path, fps=None, resolution=None) in ("extension", "path"):
                continue
            try:
                facts = probe(path, count_frames=want_facts)
            except errors.Unavailable:
                raise
            except NoVideo as exc:
                log.notice(f"{path}: left out: {exc.message}")
                continue
            except errors.RexError as exc:
                yield "error", (exc.code, errors.about(path, exc.message))
                continue
            fps = float(facts.fps) if facts.fps else None
            resolution = f"{facts.width}x{facts.height}"
            why = filters.rejects(path, fps, resolution)
            if why:
                log.debug(f"{path}: left out by the {why} filter")
                continue
            record = {"path": path}
            if want_facts:
                record.update(fps=round(fps, 3) if fps else None, frames=facts.frames,
                              start_tc=facts.timecode, resolution=resolution,
                              audio_tracks=facts.audio_streams)
            yield "clip", record
