"""proxy-link: link finished proxies to their clips in the project open in Resolve."""

import os
import sys

import click

from .. import errors, log
from ..cli import rex_command


@rex_command("proxy-link", config_keys={"confirm_over": "link.confirm_over"})
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be linked; link nothing.")
@click.option("-y", "--yes", is_flag=True, help="Never ask for confirmation.")
@click.option("--confirm-over", metavar="N", type=int,
              help="On a terminal, ask before linking more than N clips (default 50; 0 never asks).")
@click.argument("operands", nargs=-1)
def command(inv, dry_run, yes, confirm_over, operands):
    """Link each proxy (records SOURCE<TAB>PROXY, or JSON from proxy-encode) to
    its source's clips in the project open in Resolve, and write the linked pairs."""
    from ..proxy.link import Linker, parse_pair, wrong_project
    from ..media.probe import prober
    from ..resolve.connect import connect

    limit = inv.config.get("link.confirm_over")
    codes, requests = [], []
    for record in inv.records(operands):
        try:
            requests.append(parse_pair(record))
        except errors.DataError as exc:
            log.error(exc.message)
            codes.append(exc.code)
    if not requests:
        return errors.worst(codes)
    pm = connect().GetProjectManager()
    project = pm.GetCurrentProject()
    if project is None:
        raise errors.TempFail("no project is open in DaVinci Resolve")
    linker = Linker(pm, project, prober(inv.config))
    plan = []
    for request in requests:
        refusal = wrong_project(request, linker.name, linker.project_id)
        if refusal:
            log.error(f"{request.source}: not linked: {refusal}")
            codes.append(errors.PARTIAL)
            continue
        media_ids = linker.items_for(request)
        if not media_ids:
            log.error(f"{request.source}: no clip of this file in the media pool of {linker.name!r}")
            codes.append(errors.PARTIAL)
            continue
        plan.extend((request, media_id) for media_id in media_ids)
    if dry_run:
        for request, _item in plan:
            log.notice(f"would link {request.proxy} to {request.source}")
        return errors.worst(codes)
    if plan and limit and len(plan) > limit and not yes and _interactive():
        if not _confirm(f"Link {len(plan)} proxies into project {linker.name!r}? [y/N] "):
            log.notice("nothing linked")
            return errors.worst(codes)
    for request, media_id in plan:
        status, detail = linker.link(media_id, request)
        if status == "refused":
            reasons = detail or ["no difference found in frame rate, frame count, start timecode or "
                                 "audio streams"]
            log.error(f"{request.source}: Resolve refused to link {request.proxy}: {'; '.join(reasons)}")
            if not (detail and detail[0] == "proxy file missing"):
                from ..proxy.match import PROJECT_MANAGER_HINT

                log.error(PROJECT_MANAGER_HINT)
            codes.append(errors.PARTIAL)
            continue
        if status == "already":
            log.info(f"{request.source}: {request.proxy} already linked")
        elif status == "relinked":
            log.info(f"{request.source}: offline proxy unlinked and {request.proxy} linked")
        inv.out.pair(request.source, os.path.abspath(request.proxy), media_id=media_id,
                     project=linker.name, proxy=detail, status=status)
    return errors.worst(codes)


def _interactive():
    return sys.stderr.isatty() and os.path.exists("/dev/tty")


def _confirm(question):
    """Ask on the terminal (stdin may carry the records); True for yes."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return True      # no terminal after all: nobody to ask
    try:
        os.write(fd, question.encode())
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = os.read(fd, 1)
            if not chunk:
                break
            answer += chunk
    finally:
        os.close(fd)
    answer = answer.decode("utf-8", "replace")
    return answer.strip().lower() in ("y", "yes")
