"""rexd's state file: the last slot each job has accounted for, so that a run missed
while rexd was down runs once when it starts again (rex.daemon.plan).

A small JSON file under the state directory, replaced atomically; one that cannot be
read costs a warning and the catch-up of that start, never the daemon.
"""

import json
import os
from datetime import datetime

from .. import log

NAME = "rexd.json"


def path():
    from ..paths import state_dir

    return os.path.join(state_dir(), NAME)


def load(file):
    """{job name: datetime} from `file`; {} when it is absent or unreadable."""
    try:
        with open(file, encoding="utf-8") as f:
            data = json.load(f)
        return {name: datetime.fromisoformat(value["seen"]) for name, value in data.get("jobs", {}).items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        log.warning(f"{file}: unreadable state ({exc}); no missed run is caught up this time")
        return {}


def save(file, seen):
    from ..fsutil import write_atomic

    data = {"jobs": {name: {"seen": moment.isoformat()} for name, moment in sorted(seen.items())}}
    try:
        write_atomic(file, json.dumps(data, indent=1) + "\n")
    except OSError as exc:
        log.warning(f"{file}: cannot save the state: {exc.strerror or exc}")
