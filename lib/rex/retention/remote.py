"""Which objects on an rclone remote go, by the retention policy of rex-prune.

Pure decisions over one listing of the remote path (tested with hypothesis);
rex.remote.prune lists, reads the links, and deletes.

The remote holds what rex-upload put there: `DIR/NAME_STAMP.EXT` (a real object)
or `DIR/NAME_STAMP.EXT.rclonelink` (a dedupe link holding a relative target),
each with its sidecar `DIR/NAME_STAMP.EXT.md5`. Objects are grouped into backup
sets by DIR, NAME and EXT, and `decide` (rex.retention.policy) says what each set keeps, as it
does for rex-prune. On top of it:

- a backup that a kept link resolves to (through any chain of links) is kept
  too, "kept: target of a kept link", so no link on the remote ever dangles; a
  kept link whose target could not be read keeps every real object;
- a backup goes whole: its object(s) first, its sidecar after them;
- an object whose name is not a backup, a link or a sidecar of one is foreign
  and never touched, nor is a sidecar whose backup is not there.
"""

import posixpath
from dataclasses import dataclass, field

from ..backups.sets import parse
from .policy import decide, set_label
from ..checksum import SUFFIX as SIDECAR_SUFFIX
from ..remotepath import LINK_SUFFIX
LINK_TARGET_REASON = "target of a kept link"
UNREAD_LINK_REASON = "a kept link whose target could not be read"


@dataclass
class RemoteBackup:
    """One backup on the remote: its name under the remote path and what is stored for it."""

    rel: str
    stamp: str
    set_key: tuple            # (directory, name, ext), as rex.backups.sets Backup.set_key
    file: bool = False        # the object `rel` itself
    link: bool = False        # the object `rel.rclonelink`
    sidecar: bool = False     # the object `rel.md5`

    @property
    def objects(self):
        """The objects that hold the backup (not its sidecar)."""
        return ([self.rel] if self.file else []) + ([self.rel + LINK_SUFFIX] if self.link else [])


@dataclass(frozen=True)
class Verdict:
    rel: str
    label: str                # the set, DIR/NAME.EXT
    keep: bool
    reason: str               # "kept: ..." or "removed: ..."


@dataclass
class RemotePlan:
    """What goes, in two steps: the backups' objects, then the sidecars of those that went."""

    verdicts: list                                    # [Verdict], by set then stamp
    delete: list = field(default_factory=list)        # objects of removed backups
    sidecars: dict = field(default_factory=dict)      # removed backup rel -> its sidecar object
    unmatched: list = field(default_factory=list)     # labels of sets no policy matches (left alone)

    @property
    def removed(self):
        return [v for v in self.verdicts if not v.keep]


def backups(listing):
    """{backup rel: RemoteBackup} from the object names of a listing (/-separated, relative
    to the remote path). Names that are not backups, links or sidecars of one are left out,
    and so are names with a line break (rclone's file lists cannot hold them)."""
    found = {}

    def backup(rel):
        if rel not in found:
            parsed = parse(rel)
            if parsed is None:
                return None
            found[rel] = RemoteBackup(rel, parsed.stamp, parsed.set_key)
        return found[rel]

    # A name with a line break cannot be named in rclone's file lists: never touched.
    names = {n for n in listing if "\n" not in n and "\r" not in n}
    for obj in sorted(names):
        if obj.endswith(LINK_SUFFIX) and parse(obj[: -len(LINK_SUFFIX)]):
            backup(obj[: -len(LINK_SUFFIX)]).link = True
        elif not obj.endswith(SIDECAR_SUFFIX) and parse(obj):
            backup(obj).file = True
    for rel, item in found.items():
        item.sidecar = rel + SIDECAR_SUFFIX in names
    return found


def link_objects(found):
    """The link objects whose targets must be read before deciding."""
    return sorted(b.rel + LINK_SUFFIX for b in found.values() if b.link)


def link_target(rel, text):
    """The backup rel a link at `rel` holding `text` resolves to, or None when it leaves the
    remote path (absolute, or climbing above it)."""
    if not text or text.startswith("/"):
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), text))
    if target == ".." or target.startswith("../") or target == ".":
        return None
    return target


def plan(found, links, policy_of, verified=None):
    """A RemotePlan for the backups `found` (from `backups`).

    `links` maps a link backup's rel to the target text its `.rclonelink` holds (a
    link missing from it could not be read); `policy_of(label)` gives the Policy of a
    set, or None (the set is left alone and listed in `unmatched`); `verified` maps a
    set key to the stamp of its newest backup known good on the remote, which
    `decide` (rex.retention.policy) keeps with everything newer.
    """
    verified = verified or {}
    sets = {}
    for item in found.values():
        sets.setdefault(item.set_key, []).append(item)
    reasons, keep, labels, unmatched = {}, set(), {}, []
    for key in sorted(sets):
        members = sets[key]
        label = set_label(*key)
        for item in members:
            labels[item.rel] = label
        policy = policy_of(label)
        if policy is None:
            unmatched.append(label)
            for item in members:
                keep.add(item.rel)
                reasons[item.rel] = "kept: no retention policy matches this set"
            continue
        decisions = decide([m.stamp for m in members], policy, verified.get(key))
        for item, decision in zip(members, decisions):
            reasons[item.rel] = decision.reason
            if decision.keep:
                keep.add(item.rel)

    # Link safety: whatever a kept link resolves to stays, through chains of links.
    def hold(rel, why):
        if rel not in keep:
            keep.add(rel)
            reasons[rel] = "kept: " + why
            if found[rel].link:
                todo.append(rel)

    todo = sorted(rel for rel in keep if found[rel].link)
    while todo:
        rel = todo.pop()
        if rel not in links:
            for other in sorted(found):
                if found[other].file:
                    hold(other, UNREAD_LINK_REASON)
            continue
        target = link_target(rel, links[rel])
        if target in found:
            hold(target, LINK_TARGET_REASON)

    verdicts = [Verdict(rel, labels[rel], rel in keep, reasons[rel])
                for rel in sorted(found, key=lambda r: (found[r].set_key, found[r].stamp))]
    result = RemotePlan(verdicts, unmatched=unmatched)
    for verdict in verdicts:
        if not verdict.keep:
            item = found[verdict.rel]
            result.delete.extend(item.objects)
            if item.sidecar:
                result.sidecars[item.rel] = item.rel + SIDECAR_SUFFIX
    return result
