"""rex-dedupe on project files re-exported as Resolve does (the simulator's, and the
real Resolve exports where ../shared is), and on rex-export's own output: links, sidecars, ordering by stamp, bad input, corrupt
earlier backups, and kill -9 in the middle of a replacement."""

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from backuptree import put as put_backup
from conftest import BIN, sim_env
from drpfiles import read_members, reexport, samples, source, sources, write_members
from rex.checksum import md5_file, read_sidecar, write_sidecar

SAMPLES = samples()    # two different projects, exported by the simulator


def stamp(i):
    return "2026%02d%02dT%02d0000Z" % (1 + i // 28 % 12, 1 + i % 28, i % 24)


def put(directory, name, i, src, seed=None, edit=None):
    """`directory/<name>_<stamp(i)>.drp`: `src` (re-exported with `seed`, then `edit`ed), with its sidecar."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}_{stamp(i)}.drp")
    if seed is None:
        shutil.copyfile(src, path)
    else:
        reexport(src, path, seed)
    if edit:
        edit(path)
    write_sidecar(path, md5_file(path))
    return path


def rename_project(path, new="Renamed Project"):
    """A real change: the project's name inside project.xml."""
    members = read_members(path)
    out = []
    for info, data in members:
        if info.filename == "project.xml":
            start = data.index(b"<ProjectName>") + len(b"<ProjectName>")
            data = data[:start] + new.encode() + data[data.index(b"</ProjectName>"):]
        out.append((info, data))
    write_members(path, out)


def retime(path, seed=99):
    """The same content with new volatile values: a re-export written over the file."""
    tmp = path + ".tmp"
    reexport(path, tmp, seed)
    os.replace(tmp, path)


def md5sum_ok(path):
    result = subprocess.run(["md5sum", "-c", "--strict", os.path.basename(path) + ".md5"],
                            cwd=os.path.dirname(path), capture_output=True)
    return result.returncode == 0


def lines(result):
    return [p for p in result.out.split("\n") if p]


def links_are_relative_to(path, target):
    return (os.path.islink(path) and not os.path.isabs(os.readlink(path))
            and os.path.realpath(path) == os.path.realpath(target) and not os.path.islink(target))


@pytest.fixture
def root(rex_env):
    os.makedirs(rex_env["REX_BACKUP_ROOT"])
    return rex_env["REX_BACKUP_ROOT"]


@pytest.mark.slow
@pytest.mark.parametrize("fixture", sources())
def test_unchanged_reexports_become_relative_links_to_the_earliest(run, rex_env, root, fixture):
    fixture = source(fixture)
    d = os.path.join(root, "Local Database", "P")
    first = put(d, "P", 0, fixture)
    later = [put(d, "P", i, fixture, seed=i) for i in (1, 2, 3)]
    assert len({md5_file(p) for p in [first, *later]}) == 4      # no two alike in bytes
    sizes = sum(os.path.getsize(p) for p in later)
    result = run("rex-dedupe", "-v", env=rex_env, input="\n".join(later) + "\n")
    assert result.returncode == 0, result.err
    assert lines(result) == later
    assert not os.path.islink(first)
    for path in later:
        assert links_are_relative_to(path, first), path
        assert md5sum_ok(path)
        assert read_sidecar(path) == md5_file(first)
    assert "saved" in result.err and "linked 3" in result.err
    assert f"{sizes / 1024:.1f} KiB" in result.err
    verify = run("rex-verify", first, *later, env=rex_env)
    assert verify.returncode == 0, verify.err
    assert lines(verify) == [first, *later]
    # Moving the whole tree keeps every link working (they are relative).
    moved = os.path.join(os.path.dirname(root), "moved")
    shutil.move(root, moved)
    verify = run("rex-verify", "-r", moved, env=rex_env)
    assert verify.returncode == 0, verify.err
    assert len(lines(verify)) == 4
    # A second run changes nothing.
    again = run("rex-dedupe", *[p.replace(root, moved) for p in later], env=rex_env)
    assert again.returncode == 0, again.err


@pytest.mark.slow
def test_dedupe_of_rex_export_output(run, rex_env, tmp_path, monkeypatch):
    from _rexsim import state

    monkeypatch.setenv("REX_SIM_STATE", str(tmp_path / "sim.json"))
    state.reset()
    env = sim_env(rex_env, tmp_path / "sim.json")
    first = run("rex-export", env=env)
    assert first.returncode == 0, first.err
    time.sleep(1.05)
    second = run("rex-export", "--force", env=env)
    assert second.returncode == 0, second.err
    result = run("rex-dedupe", env=env, input=second.out)
    assert result.returncode == 0, result.err
    assert result.out == second.out
    for old, new in zip(lines(first), lines(second)):
        assert links_are_relative_to(new, old)
        assert md5sum_ok(new)


def test_changed_exports_are_all_kept(run, rex_env, root):
    d = os.path.join(root, "db", "P")
    fixture = SAMPLES[0]
    paths = [put(d, "P", 0, fixture),
             put(d, "P", 1, fixture, seed=1, edit=rename_project),
             put(d, "P", 2, fixture, seed=2, edit=lambda p: rename_project(p, "Third")),
             put(d, "P", 3, SAMPLES[1], seed=3)]
    digests = [md5_file(p) for p in paths]
    result = run("rex-dedupe", *paths, env=rex_env)
    assert result.returncode == 0, result.err
    assert lines(result) == paths
    for path, digest in zip(paths, digests):
        assert os.path.isfile(path) and not os.path.islink(path)
        assert md5_file(path) == digest and md5sum_ok(path)


@pytest.mark.slow
def test_hardlink(run, rex_env, root):
    d = os.path.join(root, "db", "P")
    first = put(d, "P", 0, SAMPLES[1])
    second = put(d, "P", 1, SAMPLES[1], seed=5)
    third = put(d, "P", 2, SAMPLES[1], seed=6)
    result = run("rex-dedupe", "--link", "hardlink", second, third, env=rex_env)
    assert result.returncode == 0, result.err
    for path in (second, third):
        assert not os.path.islink(path) and os.path.samefile(path, first)
        assert md5sum_ok(path)
    assert os.stat(first).st_nlink == 3
    assert run("rex-verify", first, second, third, env=rex_env).returncode == 0


@pytest.mark.slow
def test_tree(run, rex_env, root):
    a = os.path.join(root, "db", "A")
    b = os.path.join(root, "db", "Jobs", "B")
    a0 = put(a, "A", 0, SAMPLES[0])
    a1 = put(a, "A", 1, SAMPLES[0], seed=1)
    a2 = put(a, "A", 2, SAMPLES[0], seed=2, edit=rename_project)
    a3 = put(a, "A", 3, SAMPLES[0], seed=3, edit=rename_project)
    a4 = put(a, "A", 4, SAMPLES[0], seed=4)              # back to the first content
    b0 = put(b, "B", 0, SAMPLES[1])
    b1 = put(b, "B", 1, SAMPLES[1], seed=7)
    # Another set in the same directory (another name) is not compared with B.
    c0 = put(b, "C", 2, SAMPLES[1], seed=8)
    result = run("rex-dedupe", "--tree", root, env=rex_env)
    assert result.returncode == 0, result.err
    assert result.out == ""
    assert links_are_relative_to(a1, a0)
    assert not os.path.islink(a2)
    assert links_are_relative_to(a3, a2)
    assert not os.path.islink(a4)                         # compared with A's previous, a3
    assert links_are_relative_to(b1, b0)
    assert not os.path.islink(c0) and not os.path.islink(b0) and not os.path.islink(a0)
    verify = run("rex-verify", "-r", root, env=rex_env)
    assert verify.returncode == 0, verify.err
    assert len(lines(verify)) == 8
    missing = run("rex-dedupe", "--tree", os.path.join(root, "nope"), env=rex_env)
    assert missing.returncode == 66


def test_previous_is_found_by_stamp_never_mtime(run, rex_env, root):
    d = os.path.join(root, "db", "P")
    s0 = put(d, "P", 0, SAMPLES[0])                                 # content X
    s1 = put(d, "P", 1, SAMPLES[0], seed=1, edit=rename_project)    # content Y
    s2 = put(d, "P", 2, SAMPLES[0], seed=2)                         # content X again
    now = time.time()
    os.utime(s1, (now - 3000, now - 3000))
    os.utime(s0, (now - 1000, now - 1000))       # by mtime s0 would be just before s2
    os.utime(s2, (now - 2000, now - 2000))       # ... and s2 older than s0
    result = run("rex-dedupe", s2, s0, env=rex_env)
    assert result.returncode == 0, result.err
    assert lines(result) == [s2, s0]
    assert not os.path.islink(s2) and not os.path.islink(s0) and not os.path.islink(s1)
    # Equal neighbours by stamp are linked, the later stamp to the earlier, whatever mtime says.
    e = os.path.join(root, "db", "E")
    e0 = put(e, "E", 0, SAMPLES[1])
    e1 = put(e, "E", 1, SAMPLES[1], seed=3)
    os.utime(e0, (now, now))
    os.utime(e1, (now - 86400, now - 86400))
    result = run("rex-dedupe", e0, e1, env=rex_env)
    assert result.returncode == 0, result.err
    assert not os.path.islink(e0) and links_are_relative_to(e1, e0)


def test_non_zip_drp_is_65_and_good_paths_still_pass(run, rex_env, root):
    d = os.path.join(root, "db", "P")
    first = put(d, "P", 0, SAMPLES[0])
    linked = put(d, "P", 1, SAMPLES[0], seed=1)
    bad = os.path.join(d, f"P_{stamp(2)}.drp")
    with open(bad, "wb") as f:
        f.write(b"DaVinci Resolve project\n")
    write_sidecar(bad, md5_file(bad))
    kept = put(d, "P", 3, SAMPLES[0], seed=3, edit=rename_project)
    result = run("rex-dedupe", linked, bad, kept, env=rex_env)
    assert result.returncode == 65
    assert bad in result.err
    assert lines(result) == [linked, kept]
    assert links_are_relative_to(linked, first)
    assert not os.path.islink(bad) and not os.path.islink(kept)


def test_missing_input_is_66_and_good_paths_still_pass(run, rex_env, root):
    d = os.path.join(root, "db", "P")
    first = put(d, "P", 0, SAMPLES[1])
    linked = put(d, "P", 1, SAMPLES[1], seed=1)
    gone = os.path.join(d, f"P_{stamp(2)}.drp")
    result = run("rex-dedupe", gone, linked, env=rex_env)
    assert result.returncode == 66
    assert gone in result.err
    assert lines(result) == [linked]
    assert links_are_relative_to(linked, first)
    # A file that is not a backup name passes through untouched but is reported.
    other = os.path.join(d, "notes.drp")
    shutil.copyfile(SAMPLES[1], other)
    result = run("rex-dedupe", other, env=rex_env)
    assert result.returncode == 65 and not os.path.islink(other)


@pytest.mark.parametrize("corrupt", ["retimed", "flipped"])
def test_corrupt_earlier_backup_is_never_linked_to(run, rex_env, root, corrupt):
    d = os.path.join(root, "db", "P")
    first = put(d, "P", 0, SAMPLES[0])
    if corrupt == "retimed":
        retime(first)          # same canonical content, but no longer what its sidecar says
    else:
        with open(first, "r+b") as f:
            f.seek(os.path.getsize(first) // 3)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x20]))
    assert not md5sum_ok(first)
    new = put(d, "P", 1, SAMPLES[0], seed=1)
    digest = md5_file(new)
    result = run("rex-dedupe", new, env=rex_env)
    assert result.returncode == 65
    assert first in result.err
    assert lines(result) == [new]          # the new backup is good: it is passed on, unlinked
    assert os.path.isfile(new) and not os.path.islink(new)
    assert md5_file(new) == digest and md5sum_ok(new)
    assert run("rex-verify", new, env=rex_env).returncode == 0


def test_dry_run_changes_nothing(run, rex_env, root):
    d = os.path.join(root, "db", "P")
    put(d, "P", 0, SAMPLES[0])
    second = put(d, "P", 1, SAMPLES[0], seed=1)
    result = run("rex-dedupe", "-n", second, env=rex_env)
    assert result.returncode == 0, result.err
    assert "would link" in result.err
    assert not os.path.islink(second)


# --- kill -9 ------------------------------------------------------------------------------------------


def make_sets(root, sets=6, per_set=6, seed=0):
    rng = random.Random(seed)
    paths = []
    for s in range(sets):
        d = os.path.join(root, "db", f"Job {s}", f"P{s}")
        fixture = SAMPLES[s % len(SAMPLES)]
        for i in range(per_set):
            edit = rename_project if rng.random() < 0.2 else None
            paths.append(put(d, f"P{s}", i, fixture, seed=None if i == 0 else rng.randrange(10**6), edit=edit))
    return paths


def check_no_dangling_links(root):
    for d, _dirs, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            if os.path.islink(path):
                assert os.path.exists(path), f"dangling link {path}"
                assert not os.path.isabs(os.readlink(path))


@pytest.mark.slow
def test_kill_9_during_dedupe_never_leaves_a_broken_backup(run, rex_env, tmp_path):
    rng = random.Random(4321)
    for attempt in range(8):
        root = str(tmp_path / f"b{attempt}")
        paths = make_sets(root, sets=8, per_set=8, seed=attempt)
        env = dict(rex_env, REX_BACKUP_ROOT=root)
        proc = subprocess.Popen([sys.executable, os.path.join(BIN, "rex-dedupe"), *paths], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.1, 0.7))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        check_no_dangling_links(root)
        # The next run finishes whatever replacement was interrupted ...
        after = run("rex-dedupe", env=env)
        assert after.returncode == 0, after.err
        check_no_dangling_links(root)
        verify = run("rex-verify", "-r", root, env=env)
        assert verify.returncode == 0, (attempt, verify.err)
        assert sorted(lines(verify)) == sorted(paths)
        leftovers = [f for d, _, fs in os.walk(root) for f in fs if f.startswith(".")]
        assert leftovers == []
        # ... and a full run afterwards still gets every unchanged backup linked.
        done = run("rex-dedupe", "--tree", root, env=env)
        assert done.returncode == 0, done.err
        assert run("rex-verify", "-r", root, env=env).returncode == 0
        check_no_dangling_links(root)


@pytest.mark.slow
def test_an_interrupted_replacement_is_finished_by_the_next_run(run, rex_env, root):
    """The state a kill between the link and its sidecar leaves: the next run repairs it."""
    d = os.path.join(root, "db", "P")
    first = put(d, "P", 0, SAMPLES[0])
    second = put(d, "P", 1, SAMPLES[0], seed=1)
    old_sidecar = open(second + ".md5").read()
    assert run("rex-dedupe", second, env=rex_env).returncode == 0
    assert links_are_relative_to(second, first)
    dead = subprocess.Popen(["true"])
    dead.wait()
    with open(second + ".md5", "w") as f:      # the link is in place, the sidecar is not yet
        f.write(old_sidecar)
    temp = os.path.join(d, f".{os.path.basename(second)}.rex-tmp-{dead.pid}-0badc0de")
    os.symlink(os.path.basename(first), temp)
    journal = os.path.join(rex_env["XDG_STATE_HOME"], "rex", "dedupe-journal")
    with open(os.path.join(journal, f"{dead.pid}.json"), "w") as f:
        f.write('{"path": "%s"}' % second)
    assert run("rex-verify", second, env=rex_env).returncode == 65
    result = run("rex-dedupe", "-v", env=rex_env)
    assert result.returncode == 0, result.err
    assert second in result.err
    assert md5sum_ok(second) and run("rex-verify", first, second, env=rex_env).returncode == 0
    assert not os.path.lexists(temp) and os.listdir(journal) == []


@pytest.mark.slow
def test_dedupe_waits_for_a_prune_of_the_same_set(run, rex_env, tmp_path):
    """rex-dedupe and rex-prune never change one set at once: the set's lock is shared."""
    import fcntl

    from rex.backups import sets as backupset
    from rex.checksum import md5_file, write_sidecar

    directory = tmp_path / "set"
    directory.mkdir()
    first = directory / "Cut_20260101T000000Z.drp"
    second = directory / "Cut_20260102T000000Z.drp"
    reexport(SAMPLES[0], str(first), seed=1)
    reexport(SAMPLES[0], str(second), seed=2)
    for path in (first, second):
        write_sidecar(str(path), md5_file(str(path)))
    key = backupset.parse(str(second)).set_key
    lockdir = os.path.join(rex_env["XDG_STATE_HOME"], "rex", "locks")
    os.makedirs(lockdir, exist_ok=True)
    with open(os.path.join(lockdir, backupset.lock_name(key) + ".lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        busy = run("rex-dedupe", "--lock-wait", "0.3", second, env=rex_env)
    assert busy.returncode == 75 and not os.path.islink(second)
    free = run("rex-dedupe", second, env=rex_env)
    assert free.returncode == 0 and os.path.islink(second)


# --- only regular files (or links to them) are backups ---------------------------------------------

def plain(directory, i, content):
    """A .sql backup (compared by MD5) with its sidecar."""
    return put_backup(directory, "lib", stamp(i), content)


@pytest.mark.slow
@pytest.mark.parametrize("thing", ["directory", "loop"])
def test_a_directory_or_a_link_loop_as_the_previous_backup_is_skipped(run, rex_env, root, thing):
    d = os.path.join(root, "db")
    first = plain(d, 0, b"same")
    between = os.path.join(d, f"lib_{stamp(1)}.sql")
    if thing == "directory":
        os.mkdir(between)
    else:
        os.symlink(os.path.basename(between), between)
    new = plain(d, 2, b"same")
    other = plain(os.path.join(root, "other"), 0, b"x")
    later = plain(os.path.join(root, "other"), 1, b"x")
    result = run("rex-dedupe", new, env=rex_env)
    assert result.returncode == 0, result.err
    assert lines(result) == [new]
    assert links_are_relative_to(new, first)       # compared with the backup before the thing
    what = "a directory" if thing == "directory" else "a symbolic link loop"
    assert f"{between}: {what} under a backup's name; skipped" in result.err
    # The tree goes on past it, to every set.
    tree = run("rex-dedupe", "--tree", root, env=rex_env)
    assert tree.returncode == 0, tree.err
    assert links_are_relative_to(later, other)
    # Given as a record, it is named (65) and the other records are still handled.
    given = run("rex-dedupe", between, first, env=rex_env)
    assert given.returncode == 65, given.err
    assert f"{between}: {what}, not a backup" in given.err
    assert lines(given) == [first]
