"""Helpers of the rex-web data tests: backups stamped relative to now, directories dated in
the past (old enough for the inventory to trust their times), real verifications recorded
in rex-verify's ledger, and a configuration from plain values."""

import os
import time

from rex.backups.verify import Checker, VerificationLedger
from rex.config.loader import Config

DAY = 86400
NOW = time.time()


def stamp_ago(seconds):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(NOW - seconds))


def iso_ago(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - seconds))


def config(**values):
    """A Config holding `values` ({"web.rescan": 0.0, ...}) as if read from a file, nothing from the environment."""
    return Config(file_values={name: (value, "test") for name, value in values.items()}, environ={})


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


def settle(root):
    """Every directory under `root` dated an hour ago: no longer too recent to trust its time."""
    for directory, _dirs, _files in os.walk(root):
        os.utime(directory, (NOW - 3600, NOW - 3600))


class SidecarChecker(Checker):
    """rex-verify's check by the sidecar alone: these trees hold a few bytes under dump and
    project names (tests/integration/test_web_tree.py verifies real ones)."""

    def check_format(self, path):
        return "checksum"


def verify(state, *paths):
    """Check `paths` as rex-verify does (by their sidecars) and record the results in the
    ledger in `state`."""
    os.makedirs(state, exist_ok=True)
    ledger = VerificationLedger(state)
    for path in paths:
        ledger.record(SidecarChecker().check(path))
    ledger.close()
