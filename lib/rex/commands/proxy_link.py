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
    from ..media.probe import prober
    from ..proxy import link

    codes, requests = [], []
    for record in inv.records(operands):
        try:
            requests.append(link.parse_pair(record))
        except errors.DataError as exc:
            log.error(exc.message)
            codes.append(exc.code)
    if not requests:
        return errors.worst(codes)
    linker = link.open_linker(prober(inv.config))
    plan, refused = link.plan(linker, requests)
    for message in refused:
        log.error(message)
        codes.append(errors.PARTIAL)
    if dry_run:
        for request, _item in plan:
            log.notice(f"would link {request.proxy} to {request.source}")
        return errors.worst(codes)
    if link.must_confirm(len(plan), inv.config.get("link.confirm_over"), yes, _interactive()) \
            and not _confirm(f"Link {len(plan)} proxies into project {linker.name!r}? [y/N] "):
        log.notice("nothing linked")
        return errors.worst(codes)
    for request, media_id in plan:
        status, detail = linker.link(media_id, request)
        if status == "refused":
            for line in link.refusal(request, detail):
                log.error(line)
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
