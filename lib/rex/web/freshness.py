"""The freshness of one backup set: OK, STALE, UNVERIFIED or FAILED, and why. Pure, so
every rule is a property test.

- FAILED: a backup of the set failed its last verification (rex-verify found it damaged);
- STALE: the newest backup is older than the interval expected for the set's kind
  (config web.expect) times web.stale_factor; an interval of 0 expects nothing;
- UNVERIFIED: the newest backup was never proved good (or changed since);
- OK otherwise. The state is the worst that applies; the reasons list each that applies.
"""

from ..durations import format_duration

OK, UNVERIFIED, STALE, FAILED = "OK", "UNVERIFIED", "STALE", "FAILED"
STATES = (OK, UNVERIFIED, STALE, FAILED)        # from good to bad
SEVERITY = {state: n for n, state in enumerate(STATES)}
DEFAULT_EXPECT = {"dump": 86400.0, "export": 86400.0, "globals": 86400.0, "other": 7 * 86400.0}


def expected(kind, expect=None):
    """Seconds between two backups a set of `kind` is expected to have (web.expect)."""
    expect = expect or DEFAULT_EXPECT
    for name in (kind, "other"):
        if expect.get(name) is not None:
            return float(expect[name])
    return DEFAULT_EXPECT.get(kind, DEFAULT_EXPECT["other"])


def is_stale(age_s, interval_s, factor):
    """Whether a newest backup `age_s` seconds old misses the expectation. A backup from
    the future (a clock ahead) is not stale; an interval of 0 expects nothing."""
    return bool(interval_s) and age_s is not None and age_s > interval_s * factor


def decide(age_s, interval_s, factor, newest_verified, failures=()):
    """(state, reasons) of a set whose newest backup is `age_s` seconds old (None: no
    backup), `newest_verified` whether that backup stands verified good, `failures` one
    text per backup whose last verification failed."""
    found = []
    for failure in failures:
        found.append((FAILED, f"verification failed: {failure}"))
    if age_s is None:
        found.append((STALE, "no backup"))
    elif is_stale(age_s, interval_s, factor):
        found.append((STALE, f"newest backup {_human(age_s)} old; expected every {_human(interval_s)}"))
    if age_s is not None and not newest_verified:
        found.append((UNVERIFIED, "newest backup not verified"))
    if not found:
        return OK, []
    return max((state for state, _ in found), key=SEVERITY.__getitem__), [reason for _, reason in found]


def worst(states):
    """The worst of `states` (OK for none)."""
    return max(states, key=SEVERITY.__getitem__, default=OK)


def _human(seconds):
    """A whole, readable span: 3d4h, 50m; never a fraction of a second."""
    seconds = max(0, int(seconds))
    if seconds >= 86400:
        seconds -= seconds % 3600
    elif seconds >= 3600:
        seconds -= seconds % 60
    return format_duration(seconds) if seconds else "0s"
