"""proxy-worker: encode the proxies that `proxy-encode --farm` queues, or list the workers."""

import click

from ..cli import rex_command


@rex_command("proxy-worker", config_keys={"farm": "farm.redis_url"})
@click.option("--farm", metavar="URL", help="The Redis of the farm (redis://HOST:PORT/DB).")
@click.option("-n", "--workers", type=click.IntRange(0, 256), default=0, metavar="N",
              help="Encodes at once, one worker process each (default 0: one per core).")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option("--status", "show_status", is_flag=True,
              help="List the farm's workers (host, version, state, job) and exit.")
def command(inv, farm, workers, burst, show_status):
    """Take proxy encodes from the farm's queue for this suite's version and
    preset table and run them, N at once, at background priority, until
    SIGTERM (the first lets running encodes finish, a second stops them and
    puts their jobs back on the queue). With --status, list the workers."""
    from ..proxy import worker

    if show_status:
        return worker.show_status(inv)
    return worker.serve(inv, workers, burst)
