"""Remote retention (rex.retention.remote.plan): which objects of an rclone listing go.

Properties over generated listings (backups as objects, dedupe links as `.rclonelink`
objects, sidecars, foreign files): no kept link ever dangles, the newest of each set
stays, sidecars go exactly with their backups, foreign objects are never touched, and
on sets without links the result is retention.decide's.
"""

import posixpath

from hypothesis import given, settings
from hypothesis import strategies as st

from rex.retention.remote import (LINK_TARGET_REASON, backups, link_objects, link_target, plan)
from rex.retention.policy import Policy, decide, set_label

STAMPS = [f"2026{m:02d}{d:02d}T{h:02d}0000Z" for m in (1, 2, 11) for d in (1, 2, 9, 15) for h in (0, 12)]
SETS = [("pg/db_5432", "Lib", ".backup"), ("pg/db_5432", "Lib", ".sql"), ("projects/Job 1", "Edit", ".drp"),
        ("", "Top", ".drp")]
FOREIGN = ["notes.txt", "pg/db_5432/README", "pg/db_5432/Lib_20260101T000000Z.sql.md5.bak",
           "pg/db_5432/Lib_2026.sql", "projects/Job 1/.Edit_20260101T000000Z.drp.rex-tmp-1",
           "projects/Job 1/Orphan_20260101T000000Z.drp.md5", "x.rclonelink", "Top_20260101T000000Z.md5"]

policies = st.builds(Policy, keep_last=st.integers(0, 3), keep_hourly=st.integers(0, 2),
                     keep_daily=st.integers(0, 3), keep_weekly=st.integers(0, 2), keep_monthly=st.integers(0, 2),
                     keep_yearly=st.integers(0, 1),
                     keep_within=st.one_of(st.none(), st.sampled_from([3600.0, 86400.0, 86400.0 * 10])))


def rel_of(key, stamp):
    directory, name, ext = key
    return posixpath.join(directory, f"{name}_{stamp}{ext}")


@st.composite
def remotes(draw, with_links=True):
    """(listing, links, verified, foreign): object names, link texts, verified stamps by set."""
    chosen = {}
    for key in draw(st.lists(st.sampled_from(SETS), min_size=1, max_size=3, unique=True)):
        for stamp in draw(st.lists(st.sampled_from(STAMPS), min_size=1, max_size=8, unique=True)):
            kind = draw(st.sampled_from(["file", "link", "both"] if with_links else ["file"]))
            chosen[rel_of(key, stamp)] = (key, stamp, kind, draw(st.booleans()) or True)
    rels = sorted(chosen)
    listing, links = [], {}
    for rel, (_key, _stamp, kind, _side) in chosen.items():
        if kind in ("file", "both"):
            listing.append(rel)
        if kind in ("link", "both"):
            listing.append(rel + ".rclonelink")
            how = draw(st.sampled_from(["backup", "backup", "backup", "outside", "unread"]))
            if how == "backup":
                target = draw(st.sampled_from(rels))
                links[rel] = posixpath.relpath(target, posixpath.dirname(rel) or ".")
            elif how == "outside":
                links[rel] = "../../../elsewhere_20260101T000000Z.drp"
        if draw(st.booleans()):
            listing.append(rel + ".md5")
    foreign = draw(st.lists(st.sampled_from(FOREIGN), unique=True, max_size=4))
    verified = {}
    for key in {v[0] for v in chosen.values()}:
        stamps = sorted(v[1] for v in chosen.values() if v[0] == key)
        if draw(st.booleans()):
            verified[key] = draw(st.sampled_from(stamps))
    return listing + foreign, links, verified, foreign


def policy_of(policy):
    return lambda label: policy


@settings(max_examples=300, deadline=None)
@given(remotes(), policies)
def test_remote_plan_properties(remote, policy):
    listing, links, verified, foreign = remote
    found = backups(listing)
    result = plan(found, links, policy_of(policy), verified)
    keep = {v.rel for v in result.verdicts if v.keep}
    gone = {v.rel for v in result.verdicts if not v.keep}
    assert keep | gone == set(found) and not keep & gone
    # No kept link dangles: what a kept link resolves to in the listing is kept.
    for rel in keep:
        if found[rel].link and rel in links:
            target = link_target(rel, links[rel])
            if target in found:
                assert target in keep, (rel, target)
    # A kept link whose target is unknown keeps every real object.
    if any(found[rel].link and rel not in links for rel in keep):
        assert all(rel in keep for rel in found if found[rel].file)
    # The newest of each set, and the verified one and everything newer, stay.
    for key in {b.set_key for b in found.values()}:
        stamps = sorted(b.stamp for b in found.values() if b.set_key == key)
        assert rel_of(key, stamps[-1]) in keep
        if key in verified:
            assert all(rel_of(key, s) in keep for s in stamps if s >= verified[key])
    # Objects go exactly with their backups; sidecars exactly with the removed ones.
    assert sorted(result.delete) == sorted(o for rel in gone for o in found[rel].objects)
    assert result.sidecars == {rel: rel + ".md5" for rel in gone if rel + ".md5" in listing}
    touched = set(result.delete) | set(result.sidecars.values())
    assert touched <= set(listing)
    assert not touched & set(foreign)
    for rel in keep:
        assert not set(found[rel].objects) & touched and rel + ".md5" not in touched
    # Every object that is not a backup's, a link's or a sidecar's is foreign.
    for obj in foreign:
        assert obj not in found


@settings(max_examples=200, deadline=None)
@given(remotes(with_links=False), policies)
def test_without_links_it_is_retention_decide(remote, policy):
    listing, links, verified, _foreign = remote
    found = backups(listing)
    result = plan(found, links, policy_of(policy), verified)
    by_set = {}
    for b in found.values():
        by_set.setdefault(b.set_key, []).append(b.stamp)
    for key, stamps in by_set.items():
        expected = {rel_of(key, d.stamp): d for d in decide(stamps, policy, verified.get(key))}
        for verdict in result.verdicts:
            if verdict.rel in expected:
                assert verdict.keep == expected[verdict.rel].keep
                assert verdict.reason == expected[verdict.rel].reason
                assert verdict.label == set_label(*key)


def test_a_kept_link_keeps_its_target_with_a_reason():
    listing = ["a/P_20260101T000000Z.sql", "a/P_20260101T000000Z.sql.md5",
               "a/P_20260102T000000Z.sql", "a/P_20260102T000000Z.sql.md5",
               "a/P_20260103T000000Z.sql.rclonelink", "a/P_20260103T000000Z.sql.md5",
               "a/notes.txt"]
    found = backups(listing)
    assert found["a/P_20260103T000000Z.sql"].link and not found["a/P_20260103T000000Z.sql"].file
    assert link_objects(found) == ["a/P_20260103T000000Z.sql.rclonelink"]
    result = plan(found, {"a/P_20260103T000000Z.sql": "P_20260101T000000Z.sql"},
                  policy_of(Policy(keep_last=1)))
    reasons = {v.rel: v.reason for v in result.verdicts}
    assert reasons == {"a/P_20260101T000000Z.sql": f"kept: {LINK_TARGET_REASON}",
                       "a/P_20260102T000000Z.sql": "removed: no rule keeps it",
                       "a/P_20260103T000000Z.sql": "kept: newest, last #1"}
    assert result.delete == ["a/P_20260102T000000Z.sql"]
    assert result.sidecars == {"a/P_20260102T000000Z.sql": "a/P_20260102T000000Z.sql.md5"}


def test_chains_unread_links_and_unmatched_sets():
    listing = ["d/A_20260101T000000Z.drp", "d/A_20260102T000000Z.drp.rclonelink",
               "d/A_20260103T000000Z.drp.rclonelink", "d/A_20260104T000000Z.drp",
               "e/B_20260101T000000Z.drp", "e/B_20260102T000000Z.drp"]
    found = backups(listing)
    links = {"d/A_20260103T000000Z.drp": "A_20260102T000000Z.drp",
             "d/A_20260102T000000Z.drp": "A_20260101T000000Z.drp"}
    only_d = lambda label: Policy(keep_last=1) if label.startswith("d/") else None  # noqa: E731
    result = plan(found, links, only_d, {("d", "A", ".drp"): "20260103T000000Z"})
    keep = {v.rel for v in result.verdicts if v.keep}
    assert keep == set(found)            # the chain 03 -> 02 -> 01 stays; e/ has no policy
    assert result.unmatched == ["e/B.drp"] and result.delete == []
    # The links unread: every real object stays (e/ too); a link that no rule keeps still goes.
    result = plan(found, {}, policy_of(Policy(keep_last=1)), {("d", "A", ".drp"): "20260103T000000Z"})
    assert {v.rel for v in result.verdicts if not v.keep} == {"d/A_20260102T000000Z.drp"}
    assert result.delete == ["d/A_20260102T000000Z.drp.rclonelink"]


def test_link_targets_outside_the_remote_path_and_odd_names():
    assert link_target("a/b/X_20260101T000000Z.sql", "../c/Y") == "a/c/Y"
    assert link_target("a/X", "../../up") is None
    assert link_target("a/X", "/abs") is None
    assert link_target("a/X", "") is None
    found = backups(["new\nline_20260101T000000Z.sql", "A_20260101T000000Z.rclonelink",
                     "B_20260101T000000Z.sql.rclonelink.rclonelink"])
    assert sorted(found) == ["A_20260101T000000Z.rclonelink"]
    assert found["A_20260101T000000Z.rclonelink"].file


# --- the policy and what counts as verified (rex.remote.prune) ------------------------------------

def config(**values):
    from rex.config import Config

    return Config(None, {k.replace("__", "."): (v, "file rex.yaml:1:1") for k, v in values.items()}, environ={})


def test_the_remote_follows_prune_unless_upload_keys_are_set():
    import pytest

    from rex.errors import UsageError
    from rex.remote.prune import remote_policy

    default, rules, section = remote_policy(config(prune__keep_daily=7))
    assert (default, rules, section) == (Policy(keep_daily=7), [], "prune")
    default, rules, section = remote_policy(config(prune__keep_daily=7, upload__keep_last=3))
    assert (default, section) == (Policy(keep_last=3), "upload")           # upload.* replaces prune.* whole
    rule = {"match": ["*.drp"], "keep_last": 2}
    default, rules, section = remote_policy(config(prune__keep_daily=7, upload__policies=[rule]))
    assert (default, rules, section) == (None, [rule], "upload")
    with pytest.raises(UsageError):
        remote_policy(config())
    with pytest.raises(UsageError):
        remote_policy(config(prune__keep_daily=7, upload__keep_last=0))    # set, to nothing


class FakeLedger:
    def __init__(self, good):
        self.good = set(good)

    def last_ok(self, path):
        return 1.0 if path in self.good else None


def test_verified_stamps_this_run_first_then_the_local_ledger():
    from rex.remote.prune import verified_stamps

    found = backups([f"d/A_2026110{i}T000000Z.sql" for i in range(1, 5)] + ["e/B_20261101T000000Z.sql"])
    ledger = FakeLedger({"/root/d/A_20261103T000000Z.sql", "/root/e/B_20261101T000000Z.sql"})
    assert verified_stamps(found, ["d/A_20261102T000000Z.sql", "d/A_20261101T000000Z.sql", "gone/X"]) == {
        ("d", "A", ".sql"): "20261102T000000Z"}
    assert verified_stamps(found, ["d/A_20261102T000000Z.sql"], ledger, ["/root"]) == {
        ("d", "A", ".sql"): "20261102T000000Z", ("e", "B", ".sql"): "20261101T000000Z"}
    assert verified_stamps(found, [], ledger, ["/elsewhere", "/root"])[("d", "A", ".sql")] == "20261103T000000Z"


def test_planned_objects_of_a_dry_run():
    from rex.remote.upload import Item
    from rex.remote.prune import planned_objects

    items = [Item("/r/d/A_20261101T000000Z.sql", "d/A_20261101T000000Z.sql", "file"),
             Item("/r/d/A_20261102T000000Z.sql", "d/A_20261102T000000Z.sql", "link",
                  target="A_20261101T000000Z.sql")]
    assert planned_objects(items) == {
        "d/A_20261101T000000Z.sql": None, "d/A_20261101T000000Z.sql.md5": None,
        "d/A_20261102T000000Z.sql.rclonelink": "A_20261101T000000Z.sql", "d/A_20261102T000000Z.sql.md5": None}
