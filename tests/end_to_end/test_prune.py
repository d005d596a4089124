"""rex-prune through the command: dry runs, removals with their sidecars, the protection
of verified backups, per-set policies from the configuration, links that must never
dangle (after rex-dedupe, symbolic or hard). The random sequences run in-process, in
tests/integration/test_prune_sets.py."""

import json
import os

import pytest

from backuptree import corrupt, put, spell, stamp
from rex.checksum import md5_file, sidecar_path


def lines(text):
    return [line for line in text.split("\n") if line]


@pytest.fixture
def root(rex_env):
    os.makedirs(rex_env["REX_BACKUP_ROOT"])
    return rex_env["REX_BACKUP_ROOT"]


def listing(directory):
    return sorted(os.listdir(directory))


def test_no_policy_is_a_usage_error(run, rex_env, root):
    d = os.path.join(root, "db")
    put(d, "lib", stamp(0), b"a")
    result = run("rex-prune", d, env=rex_env)
    assert result.returncode == 64, result.err
    assert "no retention policy" in result.err
    assert os.listdir(d)
    result = run("rex-prune", "--keep-last", "0", "--keep-daily", "0", d, env=rex_env)
    assert result.returncode == 64


def test_dry_run_lists_reasons_and_deletes_nothing(run, rex_env, root):
    d = os.path.join(root, "db")
    paths = [put(d, "lib", stamp(i), b"%d" % i) for i in range(10)]    # 2026-01-01 .. 01-10
    before = listing(d)
    result = run("rex-prune", "-n", "--allow-unverified", "--keep-last", "2", "--keep-weekly", "2", d, env=rex_env)
    assert result.returncode == 0, result.err
    assert result.out == ""
    assert listing(d) == before
    # 2026-01-04 is the Sunday ending 2026-W01.
    assert f"keep {paths[3]}: kept: weekly 2026-W01" in result.err
    assert f"keep {paths[9]}: kept: newest, last #1, weekly 2026-W02" in result.err
    assert f"keep {paths[8]}: kept: last #2" in result.err
    assert f"would remove {paths[0]}: removed: no rule keeps it" in result.err
    assert result.err.count("would remove") == 7


def test_removes_the_right_files_with_their_sidecars(run, rex_env, root):
    d = os.path.join(root, "db")
    paths = [put(d, "lib", stamp(i), b"%d" % i) for i in range(10)]
    other = [put(d, "other", stamp(i), b"o%d" % i) for i in range(3)]
    assert run("rex-verify", "-r", d, env=rex_env).returncode == 0
    result = run("rex-prune", "--keep-last", "2", "--keep-weekly", "2", paths[4], env=rex_env)
    assert result.returncode == 0, result.err
    gone = [paths[i] for i in (0, 1, 2, 4, 5, 6, 7)]
    assert lines(result.out) == gone
    for path in gone:
        assert not os.path.lexists(path) and not os.path.lexists(sidecar_path(path))
    for path in [paths[3], paths[8], paths[9], *other]:      # the other set was not named
        assert os.path.isfile(path) and os.path.isfile(sidecar_path(path))
    # Again: nothing more goes.
    again = run("rex-prune", "--json", "--keep-last", "2", "--keep-weekly", "2", "--tree", root, env=rex_env)
    assert again.returncode == 0, again.err
    assert [json.loads(line)["path"] for line in lines(again.out)] == [other[0]]
    assert json.loads(lines(again.out)[0])["reason"] == "removed: no rule keeps it"


def test_all_prunes_every_set_under_the_backup_root(run, rex_env, root, tmp_path):
    a = [put(os.path.join(root, "srv_5432", "lib"), "lib", stamp(i), b"%d" % i) for i in range(3)]
    b = [put(os.path.join(root, "Local", "Folder", "Cut"), "Cut", stamp(i), b"c%d" % i, ".drp") for i in range(3)]
    elsewhere = [put(str(tmp_path / "elsewhere"), "x", stamp(i), b"e%d" % i) for i in range(3)]
    result = run("rex-prune", "-a", "--allow-unverified", "--keep-last", "1", env=rex_env)      # REX_BACKUP_ROOT
    assert result.returncode == 0, result.err
    assert sorted(lines(result.out)) == sorted(a[:2] + b[:2])
    assert all(os.path.exists(p) for p in elsewhere)
    other = run("rex-prune", "--all", "--allow-unverified", "--backup-root", str(tmp_path / "elsewhere"),
                "--keep-last", "1", env=rex_env)
    assert other.returncode == 0, other.err
    assert lines(other.out) == elsewhere[:2]


def test_newest_verified_and_newer_backups_are_protected(run, rex_env, root):
    d = os.path.join(root, "db")
    paths = [put(d, "lib", stamp(i), b"%d" % i) for i in range(6)]
    verify = run("rex-verify", paths[0], paths[2], env=rex_env)
    assert verify.returncode == 0, verify.err
    # The later runs' backups were never verified (say rex-verify failed on them).
    result = run("rex-prune", "--keep-last", "1", d, env=rex_env)
    assert result.returncode == 0, result.err
    assert lines(result.out) == paths[:2]
    assert all(os.path.exists(p) for p in paths[2:])


def test_per_set_policies_from_the_configuration(run, rex_env, root, tmp_path):
    d = os.path.join(root, "srv")
    dumps = [put(d, "lib", stamp(i), b"%d" % i, ext=".backup") for i in range(5)]
    exports = [put(d, "Ad", stamp(i), b"%d" % i, ext=".drp") for i in range(5)]
    texts = [put(d, "notes", stamp(i), b"%d" % i, ext=".txt") for i in range(3)]
    config = tmp_path / "rex.yaml"
    config.write_text("prune:\n  allow_unverified: true\n  keep_last: 2\n  policies:\n"
                      "    - {match: '*.backup', keep_last: 4}\n"
                      "    - match: ['*/srv/Ad.drp']\n      keep_within: 1d\n")
    result = run("rex-prune", "-c", config, d, env=rex_env)
    assert result.returncode == 0, result.err
    assert sorted(lines(result.out)) == sorted([dumps[0], *exports[:4], texts[0]])
    # keep_within 1d from the newest export at 2026-01-05 12:00 keeps only that one.
    bad = tmp_path / "bad.yaml"
    bad.write_text("prune:\n  policies:\n    - {match: '*.backup', keep_dayly: 4}\n")
    result = run("rex-prune", "-c", bad, d, env=rex_env)
    assert result.returncode == 78
    assert "keep_dayly" in result.err and "keep_daily" in result.err and "bad.yaml:3" in result.err
    # With rules but no default, a set no rule matches is left alone and named.
    only = tmp_path / "only.yaml"
    only.write_text("prune:\n  allow_unverified: true\n  policies:\n    - {match: '*.backup', keep_last: 1}\n")
    result = run("rex-prune", "-c", only, d, env=rex_env)
    assert result.returncode == 1
    assert lines(result.out) == dumps[1:4]
    assert "no retention policy matches" in result.err and "notes.txt" in result.err


@pytest.mark.slow
@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_deduplicated_backups_never_dangle(run, rex_env, root, link):
    d = os.path.join(root, "db")
    paths = [put(d, "lib", stamp(i), b"same") for i in range(5)] + [put(d, "lib", stamp(5), b"new")]
    result = run("rex-dedupe", "--link", link, "--tree", root, env=rex_env)
    assert result.returncode == 0, result.err
    if link == "symlink":
        assert all(os.path.islink(p) for p in paths[1:5])
    assert run("rex-verify", "-r", d, env=rex_env).returncode == 0
    # Keep 2026-01-04 (the newest of 2026-W01, a link) and the newest two; the real file
    # of 01-01 that the links share goes: as a symlink set, it moves over the newest kept link.
    result = run("rex-prune", "-v", "--keep-last", "2", "--keep-weekly", "2", "--keep-yearly", "0", d, env=rex_env)
    assert result.returncode == 0, result.err
    if link == "symlink":
        assert lines(result.out) == [paths[1], paths[2], paths[0]]
        assert f"move {paths[0]} over its kept link {paths[4]}" in result.err
    else:
        assert lines(result.out) == [paths[0], paths[1], paths[2]]
    kept = [paths[3], paths[4], paths[5]]
    assert listing(d) == sorted(os.path.basename(p) + s for p in kept for s in ("", ".md5"))
    if link == "symlink":
        assert not os.path.islink(paths[4]) and os.path.islink(paths[3])
        assert os.readlink(paths[3]) == os.path.basename(paths[4])
    verify = run("rex-verify", *kept, env=rex_env)
    assert verify.returncode == 0, verify.err
    assert lines(verify.out) == kept


def undeletable(path):
    """Make unlinking `path` fail: immutable for root (who ignores modes), else its directory read-only."""
    import subprocess

    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", path], capture_output=True).returncode:
            pytest.skip("chattr +i is not supported here")
        return lambda: subprocess.run(["chattr", "-i", path], check=True)
    directory = os.path.dirname(path)
    os.chmod(directory, 0o555)
    return lambda: os.chmod(directory, 0o755)


def test_failed_deletions_exit_1_and_the_rest_go(run, rex_env, root):
    stuck_dir, free_dir = os.path.join(root, "stuck"), os.path.join(root, "free")
    stuck = [put(stuck_dir, "lib", stamp(i), b"%d" % i) for i in range(2)]
    free = [put(free_dir, "lib", stamp(i), b"%d" % i) for i in range(3)]
    assert run("rex-verify", "-r", root, env=rex_env).returncode == 0
    undo = undeletable(stuck[0])
    try:
        result = run("rex-prune", "--keep-last", "1", "--tree", root, env=rex_env)
    finally:
        undo()
    assert result.returncode == 1, result.err
    assert lines(result.out) == free[:2]
    assert f"{stuck[0]}: " in result.err
    assert os.path.exists(stuck[0]) and os.path.exists(free[2])


def test_bad_operands(run, rex_env, root):
    result = run("rex-prune", "--keep-last", "1", os.path.join(root, "missing_20260101T000000Z.sql"), env=rex_env)
    assert result.returncode == 66
    result = run("rex-prune", "--keep-within", "soon", root, env=rex_env)
    assert result.returncode == 64 and "--keep-within" in result.err


# --- the ledger matches any spelling of a backup, and a set is never left without a good copy -----

@pytest.mark.parametrize("verify_as,prune_as", [("alias", "plain"), ("plain", "alias"), ("relative", "dot"),
                                                ("slashes", "relative"), ("dot", "slashes")])
def test_any_spelling_of_a_verified_backup_protects_it(run, rex_env, root, tmp_path, verify_as, prune_as):
    """The adversarial case of issue 8: verified through a symlinked root, pruned by the real
    path; the newest is corrupt, so the newest good one must stay."""
    os.symlink("backups", tmp_path / "alias")
    d = os.path.join(root, "db")
    paths = [put(d, "lib", stamp(i), b"%d" % i) for i in range(4)]
    corrupt(paths[3])
    verify = run("rex-verify", "-r", spell(d, verify_as, str(tmp_path)), env=rex_env, cwd=tmp_path)
    assert verify.returncode == 65, verify.err
    result = run("rex-prune", "--keep-last", "1", spell(d, prune_as, str(tmp_path)), env=rex_env, cwd=tmp_path)
    assert result.returncode == 0, result.err
    assert [os.path.realpath(os.path.join(tmp_path, p)) for p in lines(result.out)] == paths[:2]
    assert os.path.exists(paths[2]) and os.path.exists(paths[3])
    assert not os.path.exists(paths[0]) and not os.path.exists(paths[1])


def test_a_backup_changed_since_its_check_is_no_longer_verified(run, rex_env, root):
    d = os.path.join(root, "db")
    paths = [put(d, "lib", stamp(i), b"%d" % i) for i in range(4)]
    assert run("rex-verify", "-r", d, env=rex_env).returncode == 0
    corrupt(paths[3])                       # rotted after its check (a new mtime)
    result = run("rex-prune", "--keep-last", "1", d, env=rex_env)
    assert result.returncode == 0, result.err
    assert lines(result.out) == paths[:2]
    assert os.path.exists(paths[2]), "the newest backup still known good was removed"


@pytest.mark.slow
def test_a_set_with_no_verified_backup_loses_nothing(run, rex_env, root, tmp_path):
    bare, checked, few = os.path.join(root, "bare"), os.path.join(root, "checked"), os.path.join(root, "few")
    unverified = [put(bare, "lib", stamp(i), b"%d" % i) for i in range(3)]
    good = [put(checked, "lib", stamp(i), b"%d" % i) for i in range(3)]
    put(few, "lib", stamp(0), b"only")      # nothing to remove: no complaint
    bad = [put(os.path.join(root, "bad"), "lib", stamp(i), b"%d" % i) for i in range(2)]
    for path in bad:
        corrupt(path)
    assert run("rex-verify", "-r", checked, *bad, env=rex_env).returncode == 65
    result = run("rex-prune", "--keep-last", "1", "--tree", root, env=rex_env)
    assert result.returncode == 1, result.err
    assert lines(result.out) == good[:2]
    assert all(os.path.exists(p) for p in unverified + bad)
    for directory in (bare, os.path.join(root, "bad")):
        label = os.path.join(directory, "lib.sql")
        assert f"{label}: no backup of this set is known to be verified good" in result.err
        assert f"rex-verify -r {directory}" in result.err
    assert "few" not in result.err
    dry = run("rex-prune", "-n", "--keep-last", "1", bare, env=rex_env)
    assert dry.returncode == 1 and "none would be removed" in dry.err
    allowed = run("rex-prune", "--allow-unverified", "--keep-last", "1", bare, env=rex_env)
    assert allowed.returncode == 0, allowed.err
    assert lines(allowed.out) == unverified[:2] and "pruned by its policy alone" in allowed.err
    config = tmp_path / "rex.yaml"
    config.write_text("prune:\n  allow_unverified: true\n  keep_last: 1\n")
    by_config = run("rex-prune", "-c", config, os.path.join(root, "bad"), env=rex_env)
    assert by_config.returncode == 0, by_config.err
    assert lines(by_config.out) == bad[:1]


def test_a_ledger_of_the_previous_version_is_carried_over(run, rex_env, root, tmp_path):
    """verify.sqlite as the previous version wrote it: rows keyed by the path as typed."""
    import sqlite3
    import time

    os.symlink("backups", tmp_path / "alias")
    d = os.path.join(root, "db")
    paths = [put(d, "lib", stamp(i), b"%d" % i) for i in range(4)]
    state = os.path.join(rex_env["XDG_STATE_HOME"], "rex")
    os.makedirs(state)
    db = sqlite3.connect(os.path.join(state, "verify.sqlite"))
    db.execute("CREATE TABLE verified (path TEXT PRIMARY KEY, size INTEGER, mtime REAL, md5 TEXT, ok INTEGER, "
               "checked REAL, reason TEXT)")
    aliased = spell(paths[1], "alias", str(tmp_path))
    st = os.stat(paths[1])
    db.execute("INSERT INTO verified VALUES (?, ?, ?, ?, 1, ?, 'checksum')",
               (aliased, st.st_size, st.st_mtime, md5_file(paths[1]), time.time()))
    db.execute("INSERT INTO verified VALUES ('/gone_20260101T000000Z.sql', 1, 1.0, 'x', 1, 1.0, 'checksum')")
    db.commit()
    db.close()
    result = run("rex-prune", "--keep-last", "1", d, env=rex_env)
    assert result.returncode == 0, result.err
    assert lines(result.out) == paths[:1]
    assert run("rex-prune", "--keep-last", "1", d, env=rex_env).returncode == 0    # migrated once


# --- only regular files (or links to them) are backups ---------------------------------------------

@pytest.mark.slow
def test_a_directory_or_a_link_loop_named_like_a_backup_is_no_backup(run, rex_env, root):
    d = os.path.join(root, "db")
    paths = [put(d, "lib", stamp(i), b"%d" % i) for i in range(3)]
    directory = os.path.join(d, f"lib_{stamp(8)}.sql")
    os.mkdir(directory)
    loop = os.path.join(d, f"lib_{stamp(9)}.sql")
    os.symlink(os.path.basename(loop), loop)
    assert run("rex-verify", "-r", d, env=rex_env).returncode == 65      # the loop is a lost backup
    result = run("rex-prune", "--keep-last", "1", d, env=rex_env)
    assert result.returncode == 0, result.err
    assert lines(result.out) == paths[:2]                   # the real newest kept its slot
    assert os.path.exists(paths[2]) and os.path.isdir(directory) and os.path.islink(loop)
    assert f"{directory}: a directory under a backup's name; skipped" in result.err
    assert f"{loop}: a symbolic link loop under a backup's name; skipped" in result.err
    tree = run("rex-prune", "--keep-last", "1", "--tree", root, env=rex_env)
    assert tree.returncode == 0 and f"{directory}: a directory" in tree.err
    given = run("rex-prune", "--keep-last", "1", loop, paths[2], env=rex_env)
    assert given.returncode == 65 and f"{loop}: a symbolic link loop, not a backup" in given.err
