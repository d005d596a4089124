"""The Nagios verdict on a replication status record: pure, so every threshold rule
is tested here and `rex-standby status` only asks and prints.

A record (see primary.status_record / standby_record) holds `side` ("primary" or
"standby") and what that side knows; a missing value is None. Rules:
- a slot whose WAL is lost is CRITICAL whatever else looks fine (a restarted standby
  would seem to stream, but can never catch up);
- bytes behind (replay lag, or WAL a slot retains for a stopped standby) and seconds
  behind against the thresholds; seconds are the server's own lag figures, never the age
  of the last replayed transaction when everything received was replayed (an idle primary);
- a standby that is not connected is at least WARNING; a "standby" not in recovery is
  CRITICAL; a record that says nothing about replication is UNKNOWN.
"""

import re
from dataclasses import dataclass

from ..durations import parse_duration

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]\s*$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass(frozen=True)
class Thresholds:
    bytes: float = None
    seconds: float = None


DEFAULT_WARN = Thresholds(16 << 20, 300.0)
DEFAULT_CRIT = Thresholds(256 << 20, 600.0)


def parse_size(text):
    """Bytes in '16MB', '1.5GB', '4096B', '512kB' (powers of 1024)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r} (use e.g. 16MB, 1GB)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_thresholds(text, default):
    """'16MB,5m' -> Thresholds; either part may be left out (its default stays)."""
    size, seconds = default.bytes, default.seconds
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part[-1] in "bB":
            size = parse_size(part)
        else:
            seconds = parse_duration(part)
    return Thresholds(size, seconds)


def _level(value, warn, crit, limit_of):
    if value is None:
        return OK
    if limit_of(crit) is not None and value >= limit_of(crit):
        return CRITICAL
    if limit_of(warn) is not None and value >= limit_of(warn):
        return WARNING
    return OK


def bytes_behind(record):
    """The worst byte figure: replay lag of a connected standby, or WAL retained by the slot."""
    values = [record.get(k) for k in ("replay_lag_bytes", "retained_bytes")]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def seconds_behind(record):
    """Seconds behind that are real lag: the server's replay lag, or on a standby the age
    of the last replayed transaction only while received WAL is still waiting to be replayed."""
    values = [record.get("replay_lag_seconds")]
    if record.get("replay_pending"):
        values.append(record.get("replay_age_seconds"))
    values.append(record.get("last_report_seconds"))
    values = [v for v in values if v is not None]
    return max(values) if values else None


def verdict(record, warn=DEFAULT_WARN, crit=DEFAULT_CRIT):
    """(code, reasons): the Nagios status of a record and why."""
    reasons, codes = [], [OK]
    if record.get("wal_status") == "lost":
        codes.append(CRITICAL)
        reasons.append(f"slot {record.get('slot')}: WAL lost, the standby must be cloned again")
    if record.get("side") == "standby" and record.get("in_recovery") is False:
        codes.append(CRITICAL)
        reasons.append("server is not in recovery: not a standby")
    if record.get("side") == "primary" and not record.get("slot_exists") and not record.get("connected"):
        return UNKNOWN, [f"no standby connected and no slot {record.get('slot')}"]
    if not record.get("connected") and record.get("side") in ("primary", "standby"):
        codes.append(WARNING)
        reasons.append("standby not streaming" + (f" (state {record['state']})" if record.get("state") else ""))
    size = bytes_behind(record)
    level = _level(size, warn, crit, lambda t: t.bytes)
    if level:
        codes.append(level)
        reasons.append(f"{size} bytes behind")
    secs = seconds_behind(record)
    level = _level(secs, warn, crit, lambda t: t.seconds)
    if level:
        codes.append(level)
        reasons.append(f"{secs:.1f} s behind")
    return max(codes), reasons


def limits(given, configured):
    """(warn, crit) Thresholds from the options `given` ({"warn": text or None, ...}), else
    the `configured` texts, else the defaults. A bad option is a usage error (64), a bad
    configured value a configuration error (78)."""
    from .. import errors

    found = []
    for name, default in (("warn", DEFAULT_WARN), ("crit", DEFAULT_CRIT)):
        text = given.get(name)
        try:
            found.append(parse_thresholds(text or configured.get(name), default))
        except ValueError as exc:
            if text:
                raise errors.UsageError(f"--{name}: {exc}") from None
            raise errors.ConfigError(f"standby.{name}: {exc}") from None
    return tuple(found)
