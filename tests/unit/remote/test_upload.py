"""The pure parts of rex-upload: rclone command lines (no secret in argv), remote
syntax, the local path -> remote path mapping, filters, link targets, and what
rclone's answers mean."""

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex import errors
from rex.remote import rclone
from rex.remote.upload import link_text, listable, relative_to_root, selected

component = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1,
                    max_size=12).filter(lambda c: c not in (".", ".."))
rel_paths = st.lists(component, min_size=1, max_size=5).map("/".join)
roots = st.lists(component, min_size=0, max_size=3).map(lambda parts: "/" + "/".join(parts))


@given(roots, rel_paths)
def test_a_path_under_the_root_maps_to_its_relative_path(root, rel):
    assert relative_to_root(root, posixpath.join(root, rel)) == rel


@given(roots, rel_paths, rel_paths)
def test_a_path_outside_the_root_never_maps(root, other, rel):
    outside = posixpath.join("/", other, rel)
    result = relative_to_root(root, outside)
    if result is not None:
        assert posixpath.join(root, result) == posixpath.normpath(outside)
        assert not result.startswith("../") and result != ".."


def test_relative_to_root_edges():
    assert relative_to_root("/srv/rex", "/srv/rex") is None
    assert relative_to_root("/srv/rex", "/srv/rexx/a") is None
    assert relative_to_root("/srv/rex", "/srv/rex/../etc/passwd") is None
    assert relative_to_root("/", "/a/b") == "a/b"


@given(st.text(max_size=8).map(lambda t: "r:" + t), rel_paths)
def test_remote_path_keeps_the_layout(remote, rel):
    joined = rclone.join(remote, rel)
    assert joined.endswith("/" + rel) or joined == "r:" + rel


def test_filters():
    assert selected("pg/s/L_1.backup")
    assert selected("pg/s/L_1.backup", include=["*.backup"])
    assert not selected("projects/Old/P_1.drp", include=["*.backup", "projects/Job 1/*"])
    assert selected("projects/Job 1/sub/P_1.drp", include=["projects/Job 1/*"])
    assert not selected("projects/Job 1/P_1.drp", include=["projects/*"], exclude=["Job 1/*", "*1.drp"])
    assert selected("projects/Job 1/P_1.drp", include=["/projects/*"])
    assert selected("P_1.drp", include=["/P_*"]) and not selected("projects/P_1.drp", include=["/P_*"])
    assert selected("projects/P_1.drp", include=["projects/"]) is False


@given(rel_paths, st.sampled_from(["*", "*.backup", "a*", "*/x/*", "/a/*", "a/", "/*", "x/*/"]))
def test_a_pattern_with_a_slash_matches_the_path_under_the_root(rel, pattern):
    import fnmatch

    subject = rel if "/" in pattern else posixpath.basename(rel)
    assert selected(rel, include=[pattern]) == fnmatch.fnmatchcase(subject, pattern.strip("/") if "/" in pattern
                                                                    else pattern)


@given(rel_paths, st.lists(st.sampled_from(["*", "*.backup", "a*", "*/x/*", "[ab]*"]), max_size=3))
def test_exclude_always_wins(rel, patterns):
    assert not selected(rel, include=patterns, exclude=["*"])
    assert selected(rel, include=["*"] + patterns)


@given(rel_paths, rel_paths)
def test_link_text_reaches_the_target(link, target):
    text = link_text(link, target)
    assert posixpath.normpath(posixpath.join(posixpath.dirname(link), text)) == posixpath.normpath(target)


def test_names_with_line_breaks_are_not_listable():
    assert listable("a b/ü-#x")
    assert not listable("a\nb") and not listable("a\r")


@pytest.mark.parametrize("remote", ["offsite:rex", "offsite:", "my remote.1:a/b/", "s3@x:bucket",
                                    ":local:/tmp/x", ":sftp,host=h:dir"])
def test_good_remotes(remote):
    assert rclone.check_remote(remote) == remote.rstrip("/")


@pytest.mark.parametrize("remote", ["", "  ", "path/only", "-x:p", ":sftp", "a\nb:c",
                                    ":sftp,pass=hunter2:dir", ":s3,secret_access_key=k:b", "a b :x"])
def test_bad_remotes(remote):
    with pytest.raises(ValueError):
        rclone.check_remote(remote)


def test_credentials_are_named_never_quoted():
    with pytest.raises(ValueError) as caught:
        rclone.check_remote(":sftp,host=h,user=u,pass=hunter2,key_file_pass=xyzzy:dir")
    message = str(caught.value)
    assert "pass" in message and "key_file_pass" in message
    assert "hunter2" not in message and "xyzzy" not in message


def test_root_slash_is_kept():
    assert rclone.check_remote("sf:/") == "sf:/"
    assert rclone.join("sf:/", "a") == "sf:/a" and rclone.join("sf:", "a") == "sf:a"
    assert rclone.join("sf:x:", "a") == "sf:x:/a" and rclone.join(":local:", "a") == ":local:a"
    assert rclone.join(":sftp,host=h:d", "a") == ":sftp,host=h:d/a"


def test_argv_never_carries_the_config_or_a_secret():
    argvs = [rclone.copy_argv("rclone", "/root", "r:x", "/tmp/list", transfers=8, bwlimit="08:00,1M 19:00,off"),
             rclone.copy_tree_argv("rclone", "/tmp/stage", "r:x"),
             rclone.lsjson_argv("rclone", "r:x", "/tmp/list"),
             rclone.md5sum_download_argv("rclone", "r:x", "/tmp/list", bwlimit="1M")]
    for argv in argvs:
        assert "--config" not in argv and not any("rclone.conf" in a for a in argv)
        # operands after --: a path cannot become an option
        assert "--" in argv and len(argv) - argv.index("--") - 1 in (1, 2)
    env = rclone.environment("/etc/rex/rclone.conf")
    assert env == {"RCLONE_CONFIG": "/etc/rex/rclone.conf"}
    assert rclone.environment(None) == {}


def test_copy_argv():
    argv = rclone.copy_argv("/usr/bin/rclone", "/srv/rex", "r:x", "/tmp/l", transfers=8, bwlimit="10M")
    assert argv[:2] == ["/usr/bin/rclone", "copy"]
    assert argv[argv.index("--files-from-raw") + 1] == "/tmp/l"
    assert argv[argv.index("--transfers") + 1] == "8" and argv[argv.index("--bwlimit") + 1] == "10M"
    assert "--ignore-checksum" in argv and argv[-2:] == ["/srv/rex", "r:x"]
    plain = rclone.copy_argv("rclone", "/srv/rex", "r:x", "/tmp/l")
    assert "--transfers" not in plain and "--bwlimit" not in plain


def test_parsers():
    listing = ('[{"Path":"a/b","Size":3,"IsDir":false,"Hashes":{"md5":"ABC"}},'
               '{"Path":"a","Size":-1,"IsDir":true},{"Path":"c d","Size":5,"IsDir":false}]')
    assert rclone.parse_lsjson(listing) == {"a/b": (3, "abc"), "c d": (5, None)}
    assert rclone.parse_md5sum("0123456789abcdef0123456789abcdef  a  b\n\n") == {
        "a  b": "0123456789abcdef0123456789abcdef"}
    log = ('{"level":"info","msg":"Copied (new)","object":"x y"}\n'
           '{"level":"info","msg":"Copied (replaced existing)","object":"z"}\n'
           '{"level":"info","msg":"stats","stats":{}}\nplain line\n')
    assert rclone.copied_objects(log) == {"x y", "z"}


@pytest.mark.parametrize("stderr,code", [
    ('{"level":"error","msg":"dial tcp 127.0.0.1:1: connect: connection refused"}', errors.TEMPFAIL),
    ("Failed to create file system: dial tcp: lookup nohost: no such host", errors.TEMPFAIL),
    ('{"level":"error","msg":"401 Unauthorized"}', errors.NOPERM),
    ('{"level":"error","msg":"Propfind: 401"}', errors.NOPERM),
    # a port holding 401 or 403 is no HTTP status (a random test port once made "down" read as 77)
    ('read metadata failed: Propfind "http://127.0.0.1:36401/x": dial tcp 127.0.0.1:36401: connect: '
     'connection refused', errors.TEMPFAIL),
    ('{"level":"error","msg":"dial tcp 127.0.0.1:40310: connect: connection refused"}', errors.TEMPFAIL),
    ("Failed to create file system for \"x:\": didn't find section in config file", errors.CONFIG),
    ('{"level":"error","msg":"x: failed to copy: unexpected EOF","object":"x"}', errors.PARTIAL),
])
def test_classify(stderr, code):
    assert rclone.classify(1, stderr) == code


def test_remote_retention_command_lines():
    assert rclone.lsjson_tree_argv("rclone", "r:p") == ["rclone", "lsjson", "-R", "--files-only", "--", "r:p"]
    assert rclone.delete_argv("rclone", "r:p", "/tmp/l") == [
        "rclone", "delete", "--files-from-raw", "/tmp/l", "--use-json-log", "-v", "--stats", "0", "--", "r:p"]
    assert rclone.copy_down_argv("rclone", "-r:p", "/tmp/l", "/tmp/d")[-3:] == ["--", "-r:p", "/tmp/d"]
    for argv in (rclone.delete_argv("rclone", "r:p", "l"), rclone.lsjson_tree_argv("rclone", "r:p")):
        assert "--rmdirs" not in argv and "-l" not in argv and "--links" not in argv


def test_deleted_objects_and_not_found():
    stderr = "\n".join([
        '{"level":"info","msg":"Deleted","object":"a/x_20260101T000000Z.sql","source":"o.go:1"}',
        '{"level":"error","msg":"Couldn\'t delete: permission denied","object":"a/y"}',
        'not json', '{"broken'])
    assert rclone.deleted_objects(stderr) == {"a/x_20260101T000000Z.sql"}
    assert rclone.not_found("2026/11/21 ERROR : : error listing: directory not found")
    assert not rclone.not_found("connection refused")


def test_a_size_listing_asks_for_no_hash():
    assert "--hash" in rclone.lsjson_argv("rclone", "r:x", "/tmp/l")
    argv = rclone.lsjson_argv("rclone", "r:x", "/tmp/l", hashes=False)
    assert "--hash" not in argv and "md5" not in argv and argv[-2:] == ["--", "r:x"]


def test_trusted_only_while_nothing_changed_within_the_window():
    from rex.remote.upload import _Expected
    from rex.remote.ledger import trusted

    local = (100, 5, 7)
    want = {"a": _Expected(100, "m", "a", local), "a.md5": _Expected(40, "s", "a.md5", (40, 5, 8)),
            "l.rclonelink": _Expected(3, "t")}
    rows = {"a": (100, "m", local, 1000.0), "a.md5": (40, "s", (40, 5, 8), 1000.0),
            "l.rclonelink": (3, "t", None, 1000.0)}
    assert trusted(want, rows, set(), 60, 1059) == {"a": 1000.0, "a.md5": 1000.0, "l.rclonelink": 1000.0}
    assert trusted(want, rows, set(), 60, 1061) == {}                   # the window ran out
    assert trusted(want, rows, set(), 0, 1001) == {} == trusted(want, rows, set(), None, 1001)
    assert trusted(want, rows, set(), 60, 999) == {}                    # a check from the future
    assert "a" not in trusted(want, rows, {"a"}, 60, 1001)              # copied this run
    for changed in ((100, 6, 7), (100, 5, 9), (101, 5, 7)):             # mtime, inode, size
        assert "a" not in trusted(dict(want, a=_Expected(100, "m", "a", changed)), rows, set(), 60, 1001)
    assert "a" not in trusted(dict(want, a=_Expected(100, "n", "a", local)), rows, set(), 60, 1001)   # new md5
    assert "b" not in trusted(dict(want, b=_Expected(1, "x")), rows, set(), 60, 1001)     # never checked
    assert "a" not in trusted(want, dict(rows, a=(100, "m", local, None)), set(), 60, 1001)     # failed since


# ------------------------------------------------------------------ what a run sends (triage)

_objects = st.dictionaries(st.sampled_from(["a", "a.md5", "b", "b.md5", "l.rclonelink"]),
                           st.tuples(st.integers(1, 3), st.sampled_from("mn")), min_size=1)


@given(want=_objects, remote=st.dictionaries(st.sampled_from(["a", "a.md5", "b", "b.md5", "l.rclonelink"]),
                                             st.tuples(st.integers(1, 3), st.sampled_from(["m", "n", None]))),
       proved=st.sets(st.sampled_from(["a", "a.md5", "b", "b.md5", "l.rclonelink"])),
       trusted=st.sets(st.sampled_from(["a", "a.md5", "b", "b.md5", "l.rclonelink"])),
       check_only=st.booleans())
def test_triage_sends_only_what_is_wrong_and_never_over_a_copy_unchecked(want, remote, proved, trusted,
                                                                          check_only):
    from rex.remote.upload import ABSENT, GOOD, NEW, REPAIR, UNCHECKED, _Expected, _mismatch, triage

    want = {rel: _Expected(size, md5, rel) for rel, (size, md5) in want.items()}
    rows = {rel: (e.size, e.md5, None, None) for rel, e in want.items() if rel in proved}
    trust = {rel: 1.0 for rel in trusted if rel in want and remote.get(rel, (None,))[0] == want[rel].size
             and not check_only}
    found = {rel: (size, None if rel in trust else md5) for rel, (size, md5) in remote.items()}
    fate = triage(want, found, rows, trust, check_only)
    assert set(fate) == set(want)
    for rel, f in fate.items():
        wrong = _mismatch(rel, want[rel], found.get(rel))
        assert (f in (GOOD, UNCHECKED)) == (wrong is None)      # what matches is never sent again
        if f == NEW:                                            # sent without a look at the local copy:
            assert rel not in found and rel not in proved and not check_only    # only into an empty place
        if rel in proved and wrong:
            assert f == REPAIR                                  # what was good there once is repaired
        if rel in found and wrong:
            assert f == REPAIR                                  # over a copy: only from a good local one
        if check_only:                                          # --check sends nothing new
            assert f in (GOOD, REPAIR, ABSENT) and (f == ABSENT) == (rel not in found and rel not in proved)
        if f == UNCHECKED:
            assert found[rel][1] is None and rel not in trust and not check_only


def test_a_forced_copy_ignores_times():
    assert "--ignore-times" in rclone.copy_argv("rclone", "/r", "r:x", "/l", force=True)
    assert "--ignore-times" not in rclone.copy_argv("rclone", "/r", "r:x", "/l")
    argv = rclone.copy_tree_argv("rclone", "/stage", "r:x", force=True)
    assert "--ignore-times" in argv and argv[-3:] == ["--", "/stage", "r:x"]
