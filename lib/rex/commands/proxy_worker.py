"""proxy-worker: encode the farm's proxy jobs on this machine."""

import click

from .. import errors
from ..cli import rex_command


@rex_command("proxy-worker")
@click.option("--farm", "url", metavar="URL",
              help="The farm's Redis (default: farm.redis_url or REX_FARM_URL); the password from "
                   "REX_FARM_PASSWORD or farm.password_file.")
@click.option("-n", "--processes", type=click.IntRange(0, 256), metavar="N",
              help="Worker processes, one encode each (default: one per core).")
@click.option("--burst", is_flag=True, help="Quit once the queue is empty.")
@click.option("--status", is_flag=True, help="List the farm's workers (host, version, state, job) and quit.")
def command(inv, url, processes, burst, status):
    """Take proxy encodes queued by proxy-encode --farm for this version of Rex and make them here,
    until SIGTERM: the first lets the running encodes finish, a second stops them and puts their
    jobs back on the queue."""
    from ..proxy import farmconn

    config = inv.config
    url = farmconn.url_from(config, url)
    password = farmconn.password_from(config)
    if status:
        conn = farmconn.connect(url, password)
        for worker in farmconn.workers(conn):
            if inv.json:
                inv.out.obj(dict(worker, path=worker["name"]))
            else:
                inv.out.text(farmconn.describe_worker(worker))
        return errors.OK
    from ..proxy import worker

    return worker.serve(config, url, password, processes, burst, inv.config_file, inv.verbosity)
