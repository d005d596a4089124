"""rex.retention.local.prune_set in-process on real trees, against random sequences of
backup/dedupe/verify/prune (every kept backup still verifies, no link dangles) and
random sets, corruptions and spellings (a set that had a verified good backup keeps one)."""

import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backuptree import SPELLINGS, corrupt, put, spell, stamp
from rex.checksum import md5_file


# --- random sequences of backup, dedupe, verify and prune -----------------------------------------

operations = st.lists(st.one_of(
    st.tuples(st.just("backup"), st.integers(0, 1), st.sampled_from([b"A", b"B", b"C"])),
    st.tuples(st.just("dedupe"), st.integers(0, 1), st.booleans()),
    st.tuples(st.just("verify"), st.integers(0, 1), st.integers(0, 20)),
    st.tuples(st.just("prune"), st.integers(0, 1),
              st.fixed_dictionaries({"keep_last": st.integers(0, 3), "keep_daily": st.integers(0, 3),
                                     "keep_weekly": st.integers(0, 2)})),
), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_random_backup_dedupe_prune_never_breaks_a_link(ops):
    from rex.backups import sets as backupset
    from rex.backups.dedupe import real_target, replace_with_link
    from rex.retention.local import prune_set
    from rex.retention.policy import Policy
    from rex.backups.verify import Checker, VerificationLedger

    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "state")
        os.makedirs(state)
        ledger = VerificationLedger(state)
        dirs = [os.path.join(tmp, "a"), os.path.join(tmp, "b")]
        clock = [0]
        checker = Checker()
        try:
            for op, which, arg in ops:
                d = dirs[which]
                members = backupset.members(d, "lib", ".sql")
                if op == "backup":
                    clock[0] += 7        # hours: spans days and weeks
                    put(d, "lib", stamp(0, clock[0]), arg)
                elif op == "dedupe" and len(members) >= 2:
                    new, earlier = members[-1], members[-2]
                    target = real_target(earlier.path)
                    if (not os.path.islink(new.path) and os.path.exists(target)
                            and not os.path.samefile(new.path, target)
                            and md5_file(new.path) == md5_file(target)):
                        replace_with_link(new.path, target, state, hardlink=arg)
                elif op == "verify" and members:
                    ledger.record(checker.check(members[arg % len(members)].path))
                elif op == "prune" and members:
                    policy = Policy(**arg)
                    before = {m.path for m in members}
                    result = prune_set(members, policy, ledger)
                    assert not result.failed
                    after = {m.path for m in backupset.members(d, "lib", ".sql")}
                    assert after == before - set(result.removed)
                    assert members[-1].path in after
                # Invariant after every step: nothing dangles, every backup verifies.
                for directory in dirs:
                    for entry in os.listdir(directory) if os.path.isdir(directory) else ():
                        path = os.path.join(directory, entry)
                        assert os.path.exists(path), f"dangling {path}"
                        if not entry.endswith(".md5"):
                            outcome = checker.check(path)
                            assert outcome.ok, (path, outcome.reason)
                        else:
                            assert os.path.exists(path[:-4]), f"orphaned sidecar {path}"
        finally:
            ledger.close()


# --- the decision, on random sets, corruptions and spellings ---------------------------------------

SET = st.lists(st.tuples(st.booleans(), st.sampled_from(SPELLINGS), st.booleans()), min_size=1, max_size=6)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sets=st.lists(SET, min_size=1, max_size=3),
       policy=st.fixed_dictionaries({"keep_last": st.integers(0, 3), "keep_daily": st.integers(0, 2)}),
       allow=st.booleans(), prune_as=st.sampled_from(SPELLINGS))
def test_prune_keeps_a_verified_good_backup_in_every_set_that_had_one(sets, policy, allow, prune_as):
    """Each backup: (corrupt?, how rex-verify spells it, verified at all?). After prune, a set
    that had a backup verified good still has one, and a set that had none lost nothing
    (unless allowed)."""
    from rex.backups import sets as backupset
    from rex.retention.local import prune_set
    from rex.retention.policy import Policy
    from rex.backups.verify import Checker, VerificationLedger

    policy = Policy(**policy)
    if policy.empty:
        policy = Policy(keep_last=1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = os.path.realpath(tmp)
        os.makedirs(os.path.join(tmp, "backups"))
        os.symlink("backups", os.path.join(tmp, "alias"))
        ledger, checker = VerificationLedger(tmp), Checker()
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            had_good, before = {}, {}
            for s, backups in enumerate(sets):
                d = os.path.join(tmp, "backups", f"s{s}")
                for i, (bad, how, checked) in enumerate(backups):
                    path = put(d, "lib", stamp(i, 7 * i), b"%d" % i)
                    if bad:
                        corrupt(path)
                    if checked:
                        outcome = checker.check(spell(path, how, tmp))
                        assert outcome.ok == (not bad)
                        ledger.record(outcome)
                        had_good[d] = had_good.get(d) or outcome.ok
                before[d] = set(os.listdir(d))
            for d in before:
                members = backupset.members(spell(d, prune_as, tmp), "lib", ".sql")
                result = prune_set(members, policy, ledger, **({"allow_unverified": True} if allow else {}))
                assert not result.failed
                left = backupset.members(d, "lib", ".sql")
                if had_good.get(d):
                    assert any(ledger.last_ok(b.path) and checker.check(b.path).ok for b in left), d
                elif not allow:
                    assert set(os.listdir(d)) == before[d]
        finally:
            os.chdir(cwd)
            ledger.close()
