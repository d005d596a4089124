"""Which backups of a set to keep, and how to remove the others without breaking a link.

Pure decisions, tested exhaustively; rex.retention.local carries them out.

`decide` follows restic's `forget`: the backups of one set are walked newest
first; `keep_last` keeps the N newest; `keep_hourly` ... `keep_yearly` keep the
newest backup of each of the N most recent calendar periods (UTC; weeks are ISO
weeks) *that hold a backup* -- a missed day does not use up a daily slot, so
gaps make retention keep older backups, never delete more; `keep_within` keeps
every backup younger than the duration, measured from the newest backup (not
from now, so backups that stop arriving are never aged out). 0 means "none of
that kind". Whatever the policy, the newest backup of the set and the newest
verified one are kept, and so is every backup newer than the newest verified
one: when the last runs failed (their backups never verified, or verified bad)
the newest good backup and everything after it stay for a person to look at.
A set with no verified backup at all keeps everything, unless told otherwise.

`plan_removal` turns a decision into file operations that never leave a kept
symbolic link dangling (see its docstring).
"""

import calendar
import datetime
import os
from dataclasses import dataclass

from ..config.schema import RETENTION_KEYS
from ..durations import format_duration

PERIODS = ("hourly", "daily", "weekly", "monthly", "yearly")
COUNT_RULES = ("last",) + PERIODS      # keep_<rule>: a count; keep_within: a duration


@dataclass(frozen=True)
class Policy:
    """A retention policy; 0 (or None for keep_within) means "none of that kind".
    One field per key of config.schema.RETENTION_KEYS (tests/unit/retention/test_policy.py checks)."""

    keep_last: int = 0
    keep_hourly: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0
    keep_within: float = None      # seconds

    def __post_init__(self):
        for rule in COUNT_RULES:
            value = getattr(self, f"keep_{rule}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"keep_{rule} must be a whole number >= 0, not {value!r}")
        if self.keep_within is not None and (isinstance(self.keep_within, bool) or self.keep_within < 0):
            raise ValueError(f"keep_within must be a duration >= 0, not {self.keep_within!r}")

    @property
    def empty(self):
        """True when no rule keeps anything (only the protected backups would stay)."""
        return not self.keep_within and not any(getattr(self, f"keep_{r}") for r in COUNT_RULES)

    @classmethod
    def from_mapping(cls, mapping):
        """A Policy from {keep_last: 3, keep_within: 86400.0, ...}; missing keys are 0."""
        unknown = set(mapping) - set(RETENTION_KEYS)
        if unknown:
            raise ValueError(f"unknown retention key {sorted(unknown)[0]}")
        return cls(**{k: v for k, v in mapping.items() if v is not None})

    def describe(self):
        parts = [f"keep-{rule} {getattr(self, f'keep_{rule}')}" for rule in COUNT_RULES
                 if getattr(self, f"keep_{rule}")]
        if self.keep_within:
            parts.append(f"keep-within {format_duration(self.keep_within)}")
        return ", ".join(parts) or "nothing by rule"


@dataclass(frozen=True)
class Decision:
    stamp: str
    keep: bool
    reasons: tuple = ()

    @property
    def reason(self):
        """'kept: newest, last #1, daily 2026-11-20' or 'removed: no rule keeps it'."""
        if self.keep:
            return "kept: " + ", ".join(self.reasons)
        return "removed: " + (", ".join(self.reasons) or "no rule keeps it")


def _fields(stamp):
    """(year, month, day, hour, minute, second) of a stamp `YYYYMMDDTHHMMSSZ`, checked."""
    if len(stamp) != 16 or stamp[8] != "T" or stamp[15] != "Z" or not (stamp[:8] + stamp[9:15]).isdigit():
        raise ValueError(f"not a stamp: {stamp!r}")
    fields = (int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8]),
              int(stamp[9:11]), int(stamp[11:13]), int(stamp[13:15]))
    if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= calendar.monthrange(fields[0], fields[1])[1]
            and fields[3] < 24 and fields[4] < 60 and fields[5] < 60):
        raise ValueError(f"not a stamp: {stamp!r}")
    return fields


def period(rule, stamp):
    """The calendar period of `stamp` for `rule`, as its label: 2026-11-20T09, 2026-11-20,
    2026-W47, 2026-11, 2026."""
    if rule == "hourly":
        return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}"
    if rule == "daily":
        return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}"
    if rule == "weekly":
        year, week, _ = datetime.date(int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8])).isocalendar()
        return f"{year}-W{week:02d}"
    if rule == "monthly":
        return f"{stamp[0:4]}-{stamp[4:6]}"
    if rule == "yearly":
        return stamp[0:4]
    raise ValueError(f"unknown period {rule!r}")


# Cheap keys that change exactly when the period label does (the label is built only
# for backups that are kept).
_KEY_SLICES = {"hourly": 11, "daily": 8, "monthly": 6, "yearly": 4}


HELD = "no backup of the set is known to be verified good"


def decide(stamps, policy, verified=None, unverified_ok=True):
    """[Decision, ...] for the backups of one set, in the order of `stamps`.

    `stamps` are the set's backup stamps (any order, no duplicates); `verified`
    is the stamp of the newest backup that rex-verify last found good, or None.
    With no verified backup and not `unverified_ok`, every backup is kept (reason
    HELD): a set is never left without a known-good copy.
    """
    stamps = list(stamps)
    if not stamps:
        return []
    for stamp in stamps:
        _fields(stamp)
    order = sorted(stamps, reverse=True)
    newest = order[0]
    reasons = {stamp: [] for stamp in order}
    if len(reasons) != len(stamps):
        raise ValueError("duplicate stamps in one set")

    reasons[newest].append("newest")
    if verified is not None:
        if verified in reasons:
            reasons[verified].append("newest verified")
        for stamp in order:
            if stamp <= verified:
                break
            reasons[stamp].append("newer than the newest verified")

    for i, stamp in enumerate(order[: policy.keep_last]):
        reasons[stamp].append(f"last #{i + 1}")

    if policy.keep_within:
        start = calendar.timegm(_fields(newest)) - policy.keep_within
        label = f"within {format_duration(policy.keep_within)}"
        for stamp in order:
            if calendar.timegm(_fields(stamp)) <= start:
                break
            reasons[stamp].append(label)

    for rule in PERIODS:
        count = getattr(policy, f"keep_{rule}")
        if not count:
            continue
        last = None
        if rule == "weekly":
            days = {}

            def key(stamp):
                day = stamp[:8]
                week = days.get(day)
                if week is None:
                    week = days[day] = period("weekly", stamp)
                return week
        else:
            cut = _KEY_SLICES[rule]

            def key(stamp, cut=cut):
                return stamp[:cut]
        for stamp in order:
            value = key(stamp)
            if value != last:
                last = value
                reasons[stamp].append(f"{rule} {period(rule, stamp)}")
                count -= 1
                if not count:
                    break

    if verified is None and not unverified_ok:
        for stamp in order:
            if not reasons[stamp]:
                reasons[stamp].append(HELD)
    return [Decision(stamp, bool(reasons[stamp]), tuple(reasons[stamp])) for stamp in stamps]


# --------------------------------------------------------------- link safety

@dataclass(frozen=True)
class Entry:
    """One backup of a set as the planner sees it: its path, and for a symbolic link
    the text it holds (None for a regular file or a hard link)."""

    path: str
    link: str = None


@dataclass
class Plan:
    """What to do, in this order, so that every kept link resolves at every step.

    repoint:  [(kept link, new target path)] -- the link is replaced atomically by a
              relative link to the new target (a kept file, or the kept link the file
              will move to, which resolves through the old chain until then);
    delete_links: removed backups that are links, deleted once nothing kept goes through them;
    moves:    [(removed real file, kept link)] -- the file is renamed over the link;
    delete_files: removed real files that no kept link needs.
    `needs`   maps a path to delete or move to the repoints it depends on.
    """

    repoint: list
    delete_links: list
    moves: list
    delete_files: list
    needs: dict

    @property
    def removed(self):
        """Every backup that goes, links first, in the order they go."""
        return self.delete_links + [src for src, _ in self.moves] + self.delete_files


def _target(entry):
    return os.path.normpath(os.path.join(os.path.dirname(entry.path), entry.link))


def plan_removal(entries, remove):
    """A Plan that removes the backups `remove` (paths) from a set of `entries`.

    A removed real file that kept links resolve to is moved into the place of the
    newest of those links (by path, which sorts by stamp within a set) instead of
    being deleted, and the other kept links are re-pointed at that place; a kept
    link whose chain passes through a removed link is re-pointed at its final
    target. Links resolve through the entries only (targets outside the set are
    left alone); hard links need nothing, since removing one name of a file never
    affects its other names.
    """
    by_path = {os.path.normpath(e.path): e for e in entries}
    remove = {os.path.normpath(p) for p in remove}
    unknown = remove - set(by_path)
    if unknown:
        raise ValueError(f"not in the set: {sorted(unknown)[0]}")

    def chain(path):
        """The paths a link passes through, its final target last (a file of the set, or
        a path outside it)."""
        steps, seen = [], set()
        while path in by_path and by_path[path].link is not None and path not in seen:
            seen.add(path)
            path = _target(by_path[path])
            steps.append(path)
        return steps

    kept_links = sorted(p for p, e in by_path.items() if e.link is not None and p not in remove)
    chains = {link: chain(link) for link in kept_links}
    # Removed real files that some kept link still needs: moved over the newest such link.
    moves, destination = [], {}
    for path in sorted(remove):
        if by_path[path].link is not None:
            continue
        users = [link for link in kept_links if chains[link][-1] == path]
        if users:
            destination[path] = users[-1]
            moves.append((path, users[-1]))
    repoint, deps = [], {}
    for link in kept_links:
        steps = chains[link]
        end = steps[-1]
        if not any(step in remove for step in steps):
            continue          # nothing on its way goes: it keeps resolving as it does
        # The destination of a move points straight at the file until the file replaces
        # it; the other links of the group point at the destination.
        new = end if destination.get(end, end) == link else destination.get(end, end)
        if steps[0] != new:
            repoint.append((link, new))
            # What it passed through may only go once it no longer does.
            for step in steps:
                if step in remove:
                    deps.setdefault(step, []).append(link)
    delete_links = sorted(p for p in remove if by_path[p].link is not None)
    delete_files = sorted(p for p in remove if by_path[p].link is None and p not in destination)
    return Plan(repoint, delete_links, moves, delete_files, {k: sorted(set(v)) for k, v in deps.items()})


# --------------------------------------------------------------- which policy

def set_label(directory, name, ext):
    """How a set is named in messages and matched by policies: DIR/NAME.EXT."""
    return os.path.join(directory, name + ext)


def matches(patterns, label):
    """True when one of the shell patterns fits the set `label` (DIR/NAME.EXT): a pattern
    without / is matched against NAME.EXT, one with / against the whole label."""
    from ..paths import path_matches

    return any(path_matches(label, p) for p in patterns)


def policy_for(label, rules, default):
    """The Policy of the set `label`: the first rule ({match: [...], keep_*: ...}) that
    matches it, else `default` (which may be None). A rule is a whole policy: the keys
    it leaves out are 0."""
    for rule in rules:
        if matches(rule["match"], label):
            return Policy.from_mapping({k: v for k, v in rule.items() if k != "match"})
    return default


def chosen(given, configured, rules):
    """(default Policy or None, rules) of a run. Rules given as options ({keep_*: value}) are
    the whole policy of every set; else the configured keep_* ({key: value}) and per-set
    `rules`. ValueError when nothing would be kept but the newest backup."""
    if given:
        default, rules = Policy.from_mapping(given), []
    else:
        default = Policy.from_mapping(configured)
    if default.empty:
        if given or not rules:
            raise ValueError("no retention policy")
        default = None
    return default, rules
