"""One definition of "a backup under a tree" (rex.backups.sets.walk): rex-verify -r,
rex-upload --sync, rex-prune --tree and rex-dedupe --tree see the same backups in a tree
holding every edge case: stray files, sidecar-less backups, temporaries of every kind,
directories and FIFOs named like backups, links to backups, dangling links, hostile names."""

import json
import os

from rex.checksum import md5_file, write_sidecar
from rex.log import printable

STAMPS = [f"202601{d:02d}T000000Z" for d in range(1, 10)]


def _file(path, sidecar=True):
    path = os.fsdecode(path)
    with open(path, "wb") as f:
        f.write(os.urandom(64) + path.encode("utf-8", "surrogateescape"))     # every content differs
    if sidecar:
        write_sidecar(path, md5_file(path))
    return path


def _tree(top):
    """(good, sidecar-less, lost): the backups of the tree with a good sidecar, those without
    one, and the links under a backup's name that lead nowhere. Everything else is none."""
    d1, d2 = os.path.join(top, "d1"), os.path.join(top, "d2")
    os.makedirs(d1)
    os.makedirs(d2)
    j = lambda *parts: os.path.join(*parts)     # noqa: E731
    good = [_file(j(d1, f"lib_{STAMPS[0]}.sql")), _file(j(d1, f"lib_{STAMPS[1]}.sql"))]
    bare = [_file(j(d1, f"lib_{STAMPS[2]}.sql"), sidecar=False)]
    link = j(d1, f"lib_{STAMPS[3]}.sql")                     # a dedupe link, with its sidecar
    os.symlink(os.path.basename(good[0]), link)
    write_sidecar(link, md5_file(good[0]))
    good.append(link)
    # Not backups, whatever a suffix or a sidecar says: two of each, so that a set would form.
    for stamp in STAMPS[4:6]:
        _file(j(d1, "notes.txt"))                            # stray
        _file(j(d1, f"plain{stamp[-3:]}.backup"))            # a known suffix, no stamp (with a sidecar)
        _file(j(d1, f"lib_{stamp}.sql.part"))                # temporaries of other tools ...
        _file(j(d1, f"lib_{stamp}.part"))
        _file(j(d1, f"lib_{stamp}.partial"))
        _file(j(d1, f"lib_{stamp}.tmp"))
        _file(j(d1, f"lib_{stamp}.sql~"))
        _file(j(d1, f".lib_{stamp}.sql"))                    # ... hidden, as rsync's
        _file(j(d1, f".lib_{stamp}.sql.rex-tmp-1-ab"))       # ... and Rex's own
    folder = j(d1, f"lib_{STAMPS[6]}.sql")                   # a directory named like a backup ...
    os.mkdir(folder)
    good.append(_file(j(folder, f"inner_{STAMPS[0]}.sql")))  # ... holding a backup of its own
    os.symlink("nowhere", j(d1, f"lib_{STAMPS[7]}.sql"))     # dangling: a lost backup
    lost = [j(d1, f"lib_{STAMPS[7]}.sql")]
    os.mkfifo(j(d1, f"lib_{STAMPS[8]}.sql"))                 # a FIFO (read forever if opened)
    os.symlink("../d2", j(d1, f"dir_{STAMPS[0]}.sql"))       # a link to a directory
    os.symlink("../d2", j(d1, "alias"))                      # not followed: d2 is walked once
    for name in ["-lead", "sp ace 'q\"\\*?[", "tab\there", "ünï", b"caf\xe9"]:
        name = os.fsdecode(name)
        good += [_file(j(d2, f"{name}_{STAMPS[0]}.sql")), _file(j(d2, f"{name}_{STAMPS[1]}.sql"))]
    return good, bare, lost


def _lines(err, prefix, paths, after=": "):
    """The paths (of `paths`) that stderr names after `prefix` (and before `after`), checking
    that it names no other there."""
    named = [p for p in paths if f"{prefix}{printable(p)}{after}" in err]
    lines = [line for line in err.splitlines() if line.startswith(prefix) and after in line]
    assert len(lines) == len(named), err
    return set(named)


def test_every_command_sees_the_same_backups(run, rex_env):
    root = rex_env["REX_BACKUP_ROOT"]
    top = os.path.join(root, "tree")
    good, bare, lost = _tree(top)
    everything = good + bare + lost
    backups = set(good + bare)

    verify = run("rex-verify", "--json", "-r", top, env=rex_env, timeout=60)
    assert verify.returncode == 65, verify.err
    assert {json.loads(line)["path"] for line in verify.out.splitlines()} == set(good)
    assert _lines(verify.err, "rex-verify: error: ", everything) == set(bare + lost)

    upload = run("rex-upload", "-n", "--json", "-r", "loc:x", "--sync", top, env=rex_env, timeout=60)
    assert upload.returncode == 65, upload.err
    assert {json.loads(line)["local"] for line in upload.out.splitlines()} == set(good)
    assert _lines(upload.err, "rex-upload: error: ", everything) == set(bare)

    prune = run("rex-prune", "-n", "--keep-last", "1000", "--tree", top, env=rex_env, timeout=60)
    assert prune.returncode == 0 and prune.out == "", prune.err
    assert _lines(prune.err, "rex-prune: keep ", everything) == backups

    # rex-dedupe compares each real backup but the oldest of its set with the one before.
    dedupe = run("rex-dedupe", "-n", "-vv", "--tree", top, env=rex_env, timeout=60)
    assert dedupe.returncode == 0, dedupe.err
    sets = {}
    for path in sorted(backups, key=lambda p: os.fsencode(p)):
        sets.setdefault((os.path.dirname(path), os.path.basename(path).rsplit("_", 1)[0]), []).append(path)
    compared = {p for members in sets.values() for p in sorted(members)[1:] if not os.path.islink(p)}
    assert _lines(dedupe.err, "rex-dedupe: debug: ", everything, ": changed since ") == compared

    # Each thing named like a backup that is none is named once per command, and skipped.
    for result in (verify, upload, prune, dedupe):
        for what in (f"lib_{STAMPS[6]}.sql: a directory", f"lib_{STAMPS[8]}.sql: a FIFO",
                     f"dir_{STAMPS[0]}.sql: a directory"):
            assert result.err.count(what) == 1, (what, result.err)
