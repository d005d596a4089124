"""The farm's version key: which workers may encode which jobs.

A worker must make exactly the proxy the queuer's preset table describes, so
queues are named after the suite's MAJOR.MINOR and a hash of that table, and a
worker checks the key of every job it is handed (Proxima #22, #263).
"""

import functools
import hashlib
import json

PREFIX = "rex-proxy:"


def preset_table():
    """The preset table as plain data: what the hash covers."""
    from ..media import presets

    return {"presets": {p.name: {"video": list(p.video), "pix_fmt": p.pix_fmt, "minimum": list(p.minimum)}
                        for p in presets.PRESETS.values()},
            "audio": presets.AUDIO_CODEC}


def key_of(version, table):
    """'MAJOR.MINOR-<12 hex>' for a suite version and a preset table."""
    canonical = json.dumps(table, sort_keys=True, separators=(",", ":"))
    major_minor = ".".join(str(version).split(".")[:2])
    return f"{major_minor}-{hashlib.sha256(canonical.encode()).hexdigest()[:12]}"


@functools.lru_cache(maxsize=1)
def version_key():
    """This installation's key."""
    from .. import __version__

    return key_of(__version__, preset_table())


def queue_name(key=None):
    """The RQ queue that workers of `key` (default: this installation's) serve."""
    return PREFIX + (key or version_key())
