"""Linking finished proxies to their clips in the project open in Resolve.

`parse_pair` turns an input record into a LinkRequest (pure); `open_linker` indexes
the media pool of the open project; `plan` keeps the requests scanned from this
project whose source has clips there (by media id, else by file path, in every
folder); `must_confirm` says when to ask first; `Linker.link` links, unlinking an
offline proxy first. When Resolve refuses, `proxy.match.why_refused` finds the
reasons and `refusal` words them.
"""

import os
from dataclasses import dataclass

from .. import errors


@dataclass(frozen=True)
class LinkRequest:
    source: str
    proxy: str
    media_id: str = None
    project: str = None
    project_id: str = None


def parse_pair(record):
    """A LinkRequest from a record: `SOURCE<TAB>PROXY`, or JSON with source and path (the proxy)."""
    if "source" in record and isinstance(record.get("source"), str):
        proxy = record.get("proxy") if isinstance(record.get("proxy"), str) else record.get("path")
        if not isinstance(proxy, str) or not proxy or proxy == record["source"]:
            raise errors.DataError(f"{record['source']}: JSON record without a proxy path")
        return LinkRequest(record["source"], proxy, _text(record.get("media_id")), _text(record.get("project")),
                           _text(record.get("project_id")))
    text = record.get("path")
    if not isinstance(text, str) or "\t" not in text:
        raise errors.DataError(f"not a SOURCE<TAB>PROXY pair: {text!r}")
    source, proxy = text.split("\t", 1)
    if not source or not proxy:
        raise errors.DataError(f"not a SOURCE<TAB>PROXY pair: {text!r}")
    return LinkRequest(source, proxy)


def _text(value):
    return value if isinstance(value, str) and value else None


def wrong_project(request, name, project_id):
    """Why REQUEST must not be linked into the open project (None when it may)."""
    if request.project_id and project_id and request.project_id != project_id:
        return (f"scanned in another project ({request.project or request.project_id!r}); "
                f"{name!r} is open")
    if request.project and request.project != name:
        return f"scanned in project {request.project!r}, but {name!r} is open"
    return None


def plan(linker, requests):
    """([(request, media id)] to link, [messages] for the requests left out): those scanned
    in another project, and those whose source has no clip in the media pool."""
    pairs, refused = [], []
    for request in requests:
        reason = wrong_project(request, linker.name, linker.project_id)
        if reason:
            refused.append(f"{request.source}: not linked: {reason}")
            continue
        media_ids = linker.items_for(request)
        if not media_ids:
            refused.append(f"{request.source}: no clip of this file in the media pool of {linker.name!r}")
            continue
        pairs.extend((request, media_id) for media_id in media_ids)
    return pairs, refused


def must_confirm(count, limit, yes, interactive):
    """Ask before linking `count` clips: only over `limit` (0 or None: never), without
    --yes, and with someone at a terminal to answer."""
    return bool(count and limit and count > limit and not yes and interactive)


def refusal(request, reasons):
    """The error lines for a link Resolve refused, with `reasons` from why_refused."""
    from .match import PROJECT_MANAGER_HINT

    lines = [f"{request.source}: Resolve refused to link {request.proxy}: "
             + "; ".join(reasons or ["no difference found in frame rate, frame count, start timecode or "
                                     "audio streams"])]
    if not (reasons and reasons[0] == "proxy file missing"):
        lines.append(PROJECT_MANAGER_HINT)
    return lines


def open_linker(prober):
    """A Linker for the project open in Resolve (TempFail, 75, when none is open)."""
    from ..resolve.media import open_project

    return Linker(*open_project(), prober)


class Linker:
    """The open project's media pool, indexed by media id, and the linking of proxies to it.

    Handles go stale when the user reloads the project; the index is then built again
    from the project open now, if it is the same one (else TempFail).
    """

    def __init__(self, pm, project, prober):
        from ..resolve import media

        self.pm = pm
        self.project = project
        self.name, self.project_id = media.project_identity(project)
        self.prober = prober
        self._index()

    def _index(self):
        from ..resolve import media

        for _attempt in range(3):
            self.by_id, self.by_path = media.index_pool(self.project.GetMediaPool())
            if media.still_open(self.project):
                return
            self.project = media.reopened(self.pm, self.name, self.project_id)
        raise errors.TempFail(f"project {self.name!r} kept being reloaded in DaVinci Resolve; run again")

    def _fresh(self):
        """Index again when the handles went stale; True when they had."""
        from ..resolve import media

        if media.still_open(self.project):
            return False
        self.project = media.reopened(self.pm, self.name, self.project_id)
        self._index()
        return True

    def items_for(self, request):
        """The media ids of REQUEST's source in the media pool: [] when the project has none."""
        if request.media_id and request.media_id in self.by_id:
            return [request.media_id]
        return list(self.by_path.get(os.path.normpath(request.source), []))

    def link(self, media_id, request):
        """(status, detail): ('linked'|'relinked'|'already', proxy resolution) or ('refused', [reasons])."""
        from .match import why_refused
        from ..resolve import media

        for _attempt in range(3):
            self._fresh()
            item = self.by_id.get(media_id)
            if item is None:
                return "refused", ["the clip is no longer in the media pool"]
            props = item.GetClipProperty()
            if props is None:
                continue                  # stale between the check and the call
            facts = media.clip_facts(props)
            proxy = os.path.abspath(request.proxy)
            state = media.proxy_state(facts["proxy"])
            if state == "online" and os.path.normpath(facts["proxy_path"]) == os.path.normpath(proxy):
                return "already", facts["proxy"]
            linked, unlinked = media.link_proxy(item, proxy)
            if linked:
                return ("relinked" if unlinked else "linked"), item.GetClipProperty("Proxy")
            if self._fresh():
                continue                  # refused by a stale handle, not by Resolve: again
            return "refused", why_refused(facts["path"] or request.source, facts, proxy, self.prober)
        raise errors.TempFail(f"project {self.name!r} kept being reloaded in DaVinci Resolve; run again")
