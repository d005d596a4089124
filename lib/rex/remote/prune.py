"""Remote retention for rex-upload: the policy, the listing, the links, the deletions.

The decision is rex.retention.remote's (pure); this module feeds it and carries
it out with three kinds of rclone run: one recursive listing of the remote path,
one download of the (tiny) link objects, so that what a kept link points to is
known and kept, and two deletions of exact file lists, the backups' objects
first and then the sidecars of those that went, as rex-prune does locally. A
run killed between them leaves at worst a sidecar without its backup, which no
later run mistakes for a backup.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass, field

from .. import errors, log
from . import rclone
from ..config.schema import RETENTION_KEYS
from ..retention import remote


def policy_section(config):
    """'upload' when any upload.keep_* or upload.policies is configured, else 'prune':
    the remote keeps what the local disk keeps unless told otherwise."""
    names = [f"upload.{k}" for k in RETENTION_KEYS] + ["upload.policies"]
    return "upload" if any(config.source(n) != "default" for n in names) else "prune"


def remote_policy(config):
    """(default Policy or None, per-set rules, section) for the remote; a UsageError (64)
    when there is no policy at all, as rex-prune."""
    from ..retention.policy import Policy

    section = policy_section(config)
    default = Policy.from_mapping({k: config.get(f"{section}.{k}") for k in RETENTION_KEYS})
    rules = config.get(f"{section}.policies") or []
    if default.empty:
        if not rules:
            raise errors.UsageError(
                "--prune-remote: no retention policy: set upload.keep_* or upload.policies (or prune.keep_* / "
                "prune.policies, which the remote follows by default) in the configuration; without one "
                "nothing but the newest backup of each set would be kept")
        default = None
    return default, rules, section


def policy_lookup(default, rules, root):
    """The Policy of a remote set, by its label DIR/NAME.EXT under the remote path. Rules are
    matched against ROOT/DIR/NAME.EXT, the set's local path, as rex-prune matches them, so
    that one prune.policies list means the same sets on both sides."""
    from ..retention.policy import policy_for

    return lambda label: policy_for(os.path.join(root, label), rules, default)


def verified_stamps(found, verified_rels, ledger=None, roots=()):
    """{set key: stamp} of the newest backup of each set known good on the remote: one this
    run uploaded or checked there; failing that, the newest whose local copy (under one of
    `roots`) rex-verify last found good. decide() keeps it and everything newer."""
    stamps = {}
    for rel in verified_rels:
        item = found.get(rel)
        if item is not None and item.stamp > stamps.get(item.set_key, ""):
            stamps[item.set_key] = item.stamp
    if ledger is not None:
        for item in sorted(found.values(), key=lambda b: b.stamp, reverse=True):
            if item.set_key in stamps:
                continue
            if any(ledger.last_ok(os.path.join(root, *item.rel.split("/"))) is not None for root in roots):
                stamps[item.set_key] = item.stamp
    return stamps


def planned_objects(items):
    """{object rel: link text or None} that rex.remote.upload Items would put on the remote: what
    a dry run pretends is there."""
    objects = {}
    for item in items:
        objects[item.rel + remote.SIDECAR_SUFFIX] = None
        if item.kind == "link":
            objects[item.rel + remote.LINK_SUFFIX] = item.target
        else:
            objects[item.rel] = None
    return objects


@dataclass
class RemoteRemoval:
    plan: object
    removed: list = field(default_factory=list)     # [Verdict] of backups gone from the remote
    failed: list = field(default_factory=list)      # [(object rel, message)]


class RemotePruner:
    """Lists `remote`, decides by a policy, and deletes what goes."""

    def __init__(self, rclone_, target):
        self.rclone, self.remote = rclone_, target

    def listing(self):
        """Every object name under the remote path ([] when the path does not exist yet)."""
        result = self.rclone.run(rclone.lsjson_tree_argv(self.rclone.program, self.remote), "rclone lsjson -R")
        if not result.ok:
            if rclone.run_wide(result.stderr) is None and rclone.not_found(result.stderr):
                return []
            raise rclone.failure("rclone lsjson (remote retention)", result.returncode, result.stderr)
        return sorted(rclone.parse_lsjson(result.stdout.decode("utf-8", "surrogateescape")))

    def read_links(self, objects, work):
        """{backup rel: target text} of the link objects named; one that cannot be read is
        left out (and then keeps every real object: see remote.plan)."""
        if not objects:
            return {}
        listing = rclone.write_list(work, "links", objects)
        dest = os.path.join(work, "links.d")
        self.rclone.run_tolerant(rclone.copy_down_argv(self.rclone.program, self.remote, listing, dest),
                                 "rclone copy (reading links)", warn_lines=3)
        texts = {}
        for obj in objects:
            try:
                with open(os.path.join(dest, *obj.split("/")), "rb") as f:
                    texts[obj[: -len(remote.LINK_SUFFIX)]] = f.read().decode("utf-8", "surrogateescape")
            except OSError:
                log.warning(f"{rclone.join(self.remote, obj)}: could not be read; every real backup is kept")
        return texts

    def decide(self, policy_of, verified_rels=(), ledger=None, roots=(), planned=None):
        """(found, RemotePlan) for the remote as listed now, plus `planned` uploads
        ({object rel: link text or None}) when a dry run pretends they are there."""
        work = tempfile.mkdtemp(prefix="rex-upload-prune-")
        try:
            names = self.listing()
            planned = planned or {}
            names = sorted(set(names) | set(planned))
            found = remote.backups(names)
            wanted = [o for o in remote.link_objects(found) if o not in planned]
            links = self.read_links(wanted, work)
            links.update({o[: -len(remote.LINK_SUFFIX)]: text for o, text in planned.items()
                          if text is not None})
        finally:
            shutil.rmtree(work, ignore_errors=True)
        verified = verified_stamps(found, verified_rels, ledger, roots)
        return found, remote.plan(found, links, policy_of, verified)

    def delete(self, found, plan, on_removed=None):
        """Carry out `plan`: the objects of the removed backups, then their sidecars."""
        outcome = RemoteRemoval(plan)
        if not plan.delete:
            return outcome
        work = tempfile.mkdtemp(prefix="rex-upload-prune-")
        try:
            gone = self._delete(work, "objects", plan.delete)
            sidecars = []
            for verdict in plan.removed:
                missing = [o for o in found[verdict.rel].objects if o not in gone]
                if missing:
                    outcome.failed.extend((o, "could not be deleted from the remote") for o in missing)
                    continue
                outcome.removed.append(verdict)
                if on_removed:
                    on_removed(verdict)
                if verdict.rel in plan.sidecars:
                    sidecars.append(plan.sidecars[verdict.rel])
            if sidecars:
                gone = self._delete(work, "sidecars", sidecars)
                outcome.failed.extend((o, "sidecar could not be deleted from the remote") for o in sidecars
                                      if o not in gone)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return outcome

    def _delete(self, work, name, objects):
        listing = rclone.write_list(work, name, objects)
        result = self.rclone.run_tolerant(rclone.delete_argv(self.rclone.program, self.remote, listing),
                                          "rclone delete")
        return rclone.deleted_objects(result.stderr) & set(objects)


def prune(rclone_, target, root, policy, verified, dry_run=False, on_record=None):
    """Remote retention, as rex-upload --prune-remote runs it; returns the exit codes.

    `policy` is remote_policy's (default, rules, section); `verified` the rels this run proved
    on the remote, or in a dry run the Items it would upload, pretended there and good.
    Each backup removed (or that would be) is told to `on_record(where, verdict, action)`,
    action "pruned" or "would-prune"."""
    from ..backups.verify import VerificationLedger
    from ..paths import state_dir

    default, rules, section = policy
    pruner = RemotePruner(rclone_, target)
    planned = None
    if dry_run:
        planned = planned_objects(verified)
        verified = [item.rel for item in verified]
    ledger = VerificationLedger(state_dir())
    try:
        roots = sorted({root, os.path.realpath(root)})
        found, plan = pruner.decide(policy_lookup(default, rules, root), verified, ledger, roots, planned)
    finally:
        ledger.close()
    codes = [errors.OK]
    for label in plan.unmatched:
        log.error(f"{rclone.join(target, label)}: no retention policy matches this set ({section}.policies); "
                  "left as it is")
        codes.append(errors.PARTIAL)
    say = log.notice if dry_run else log.debug
    for verdict in plan.verdicts:
        where = rclone.join(target, verdict.rel)
        if verdict.keep:
            say(f"keep {where}: {verdict.reason}")
        else:
            say(f"{'would remove' if dry_run else 'remove'} {where}: {verdict.reason}")
            if dry_run and on_record:
                on_record(where, verdict, "would-prune")
    if dry_run:
        return codes

    def removed(verdict):
        where = rclone.join(target, verdict.rel)
        log.info(f"removed {where} ({verdict.reason})")
        if on_record:
            on_record(where, verdict, "pruned")

    outcome = pruner.delete(found, plan, on_removed=removed)
    for obj, message in outcome.failed:
        log.error(f"{rclone.join(target, obj)}: {message}")
        codes.append(errors.PARTIAL)
    if outcome.removed:
        log.info(f"removed {len(outcome.removed)} backup(s) from {target}")
    return codes
