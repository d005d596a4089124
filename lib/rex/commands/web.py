"""rex-web: the read-only status page of the facility, and the JSON API behind it."""

import click

from ..cli import rex_command


@rex_command("rex-web", config_keys={"listen": "web.listen", "backup_root": "backup_root"})
@click.option("--listen", metavar="HOST:PORT",
              help="Address to serve on (default 127.0.0.1:8470); beyond loopback a token is required.")
@click.option("--backup-root", metavar="DIR", help="The backup root whose sets are shown (REX_BACKUP_ROOT).")
def command(inv, listen, backup_root):
    """Serve the status page (/) and its JSON API (/api/v1/, described at
    /api/v1/openapi.json), /api/v1/health and /metrics, until SIGTERM or SIGINT.
    The token (web.token_file or REX_WEB_TOKEN, never an option) guards every request
    when set, and must be set to listen beyond loopback. Nothing served changes a
    backup."""
    from ..web.serve import run

    return run(inv.config)
