"""Which dumps to search for a lost project, in which order, and what they hold.

Dumps are ordered by the UTC stamp in their names, newest first, never by mtime
(a copy or a restore from tape changes mtimes); names without a stamp come last,
in the order given. What a project is, and when it matches, is pg/projects.py.
"""

import os

from .. import errors, log
from ..pg.dump import SUFFIX
from ..pg.projects import matches
from . import sets


def dumps_in(operands, codes):
    """The dumps named: files as given, and every .backup below a directory, oldest first.
    A directory with none (such as a directory under a dump's name) is named, 66 in `codes`."""
    for path in operands:
        if os.path.isdir(path):
            found = [b for members in sets.sets_under(path).values() for b in members if b.ext == SUFFIX]
            if not found:
                log.error(f"{path}: a directory with no dump (NAME_YYYYMMDDTHHMMSSZ{SUFFIX}) under it")
                codes.append(errors.NOINPUT)
            yield from (b.path for b in sorted(found))
        else:
            yield path


def newest_first(dumps):
    """`dumps` ordered by the stamp in their names, newest first; unstamped ones last."""
    dumps = list(dict.fromkeys(dumps))
    stamps = {}
    for path in dumps:
        parsed = sets.parse(path)
        stamps[path] = parsed.stamp if parsed else None
    stamped = sorted((p for p in dumps if stamps[p]), key=lambda p: stamps[p], reverse=True)
    return stamped + [p for p in dumps if not stamps[p]]


def projects_of_each(dumps, codes):
    """(path, projects) for each readable dump; each failure named, its code kept in `codes`."""
    from ..pg.projects import list_projects
    from ..pg.tools import newest

    program = newest("pg_restore")
    for path in dumps:
        why = sets.unusable(path)
        if why:
            log.error(f"{path}: {why}" + ("" if why == sets.MISSING else ", not a dump"))
            codes.append(errors.NOINPUT if why == sets.MISSING else errors.DATAERR)
            continue
        try:
            projects = list_projects(program, path)
        except errors.RexError as exc:
            log.error(exc.message)
            codes.append(exc.code)
            continue
        codes.append(errors.OK)
        yield path, projects


def newest_holding(dumps, pattern, codes):
    """(path, projects matching `pattern`) of the newest dump that holds any, or None;
    the dumps that could not be read on the way are named, their codes kept in `codes`."""
    for path, projects in projects_of_each(newest_first(dumps), codes):
        log.info(f"searched {path}")
        hits = [p for p in projects if matches(p, pattern)]
        if hits:
            return path, hits
    return None
