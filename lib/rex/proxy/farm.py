"""proxy-encode --farm: the FarmPool for this run, from the options and the configuration."""

from .. import log


def open_pool(config, given_url, encoder, display, local, list_workers=False):
    """A FarmPool on the farm's Redis (75 naming host:port when it cannot be reached); `local()`
    makes the pool of the local fallback; `list_workers` logs every worker (-v)."""
    from . import farmconn
    from .farmkey import version_key
    from .farmpool import FarmPool

    url = farmconn.url_from(config, given_url or None)
    conn = farmconn.connect(url, farmconn.password_from(config))
    key = version_key()
    if list_workers:
        for worker in farmconn.workers(conn, key):
            (log.warning if worker["mismatched"] else log.info)("worker " + farmconn.describe_worker(worker))
    return FarmPool(conn, url, encoder, display, key=key, wait=config.get("farm.wait"),
                    fallback=local if config.get("farm.fallback") == "local" else None,
                    on_cancel=config.get("farm.on_cancel"))
