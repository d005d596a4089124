"""rex-web's inventory of the backup tree: the sets and their states from real files and
the real ledgers of rex-verify and rex-upload; one walk at start-up, then only the
directories that changed are read again, never a walk per request."""

import os
import time
from collections import namedtuple

import pytest

import backuptree
from rex.backups import sets as backup_sets
from rex.remote.ledger import UploadLedger
from rex.web.inventory import Inventory
from webtree import DAY, NOW, Clock, config, iso_ago, settle, stamp_ago, verify

Expected = namedtuple("Expected", "size md5 local")


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "backups"
    for n in range(3):
        for age in (3 * DAY, 2 * DAY, 3600):
            backuptree.put(str(root / "db1_5432" / f"lib{n}"), f"lib{n}", stamp_ago(age), f"{n}{age}".encode(),
                           ext=".backup")
    backuptree.put(str(root / "Lib" / "Folder" / "Proj"), "Proj", stamp_ago(3600), b"drp", ext=".drp")
    settle(root)
    return str(root)


@pytest.fixture
def counted(monkeypatch):
    """How often the tree is walked (sets.directories_under) and directories listed (os.scandir)."""
    calls = {"walks": 0, "scandir": []}
    walk, scandir = backup_sets.directories_under, os.scandir

    def counting_walk(root):
        calls["walks"] += 1
        yield from walk(root)

    def counting_scandir(path="."):
        calls["scandir"].append(path if isinstance(path, int) else os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(backup_sets, "directories_under", counting_walk)
    monkeypatch.setattr(os, "scandir", counting_scandir)
    return calls


@pytest.mark.parametrize("watch", [False, True], ids=["looks", "inotify"])
def test_requests_never_walk_the_tree_and_a_change_rereads_only_its_directory(tree, tmp_path, counted, watch):
    inventory = Inventory(tree, config(**{"web.rescan": 0.0}), str(tmp_path / "state"), watch=watch)
    assert len(inventory.sets()) == 4 and counted["walks"] == 1
    counted["scandir"].clear()
    for _ in range(50):
        assert len(inventory.sets()) == 4
    assert counted["walks"] == 1 and counted["scandir"] == []
    backuptree.put(os.path.join(tree, "db1_5432", "lib1"), "lib1", stamp_ago(60), b"new", ext=".backup")
    by_name = {s["name"]: s for s in inventory.sets()}
    assert by_name["lib1"]["count"] == 4 and by_name["lib0"]["count"] == 3
    assert counted["walks"] == 1 and counted["scandir"] == [os.path.join(tree, "db1_5432", "lib1")]


def test_without_inotify_between_looks_the_sets_are_as_last_seen_for_at_most_web_rescan(tree, tmp_path, counted):
    clock = Clock()
    inventory = Inventory(tree, config(**{"web.rescan": 30.0}), str(tmp_path / "state"), clock=clock, watch=False)
    assert len(inventory.sets()) == 4
    counted["scandir"].clear()
    backuptree.put(os.path.join(tree, "new"), "other", stamp_ago(60), b"x", ext=".sql")
    clock.now += 29
    assert len(inventory.sets()) == 4 and counted["scandir"] == []
    clock.now += 2
    assert len(inventory.sets()) == 5
    assert counted["walks"] == 2          # the start-up walk, and the walk of the new directory alone
    assert os.path.join(tree, "db1_5432") not in counted["scandir"]


def test_a_vanished_directory_takes_its_sets_along(tree, tmp_path):
    import shutil

    inventory = Inventory(tree, config(**{"web.rescan": 0.0}), str(tmp_path / "state"))
    assert len(inventory.sets()) == 4
    shutil.rmtree(os.path.join(tree, "Lib"))
    assert sorted(s["name"] for s in inventory.sets()) == ["lib0", "lib1", "lib2"]


def test_sets_carry_kind_place_counts_and_stable_url_safe_ids(tree, tmp_path):
    backuptree.put(os.path.join(tree, "db1_5432"), "globals", stamp_ago(60), b"roles", ext=".sql")
    backuptree.put(os.path.join(tree, "Lib", "Folder", "Proj"), "Proj", stamp_ago(30), b"drp", ext=".drp")
    first = {s["name"]: s for s in Inventory(tree, None, str(tmp_path / "state")).sets()}
    again = {s["name"]: s for s in Inventory(tree, None, str(tmp_path / "state")).sets()}
    assert {n: s["id"] for n, s in first.items()} == {n: s["id"] for n, s in again.items()}
    assert len({s["id"] for s in first.values()}) == 5
    assert all(s["id"].isalnum() for s in first.values())
    lib = first["lib2"]
    assert (lib["kind"], lib["server"], lib["library"], lib["project"], lib["directory"], lib["count"]) == (
        "dump", "db1_5432", "lib2", None, "db1_5432/lib2", 3)
    assert lib["newest"] == iso_ago(3600)
    since_import = time.time() - NOW   # NOW is fixed when webtree is imported, maybe minutes ago
    assert 3600 <= lib["age_s"] < 3700 + since_import and lib["bytes"] == sum(len(f"2{a}") for a in (3 * DAY, 2 * DAY, 3600))
    proj = first["Proj"]
    assert (proj["kind"], proj["library"], proj["project"], proj["count"]) == ("export", "Lib", "Proj", 2)
    assert (first["globals"]["kind"], first["globals"]["server"]) == ("globals", "db1_5432")


def test_dedupe_links_count_as_saved_bytes_not_bytes_on_disk(tmp_path):
    root = tmp_path / "backups"
    first = backuptree.put(str(root / "s"), "s", stamp_ago(3 * DAY), b"x" * 1000, ext=".sql")
    os.symlink(os.path.basename(first), str(root / "s" / f"s_{stamp_ago(2 * DAY)}.sql"))
    os.link(first, str(root / "s" / f"s_{stamp_ago(DAY)}.sql"))
    backuptree.put(str(root / "s"), "s", stamp_ago(60), b"y" * 10, ext=".sql")
    [found] = Inventory(str(root), None, str(tmp_path / "state")).sets()
    assert (found["count"], found["bytes"], found["saved_bytes"]) == (4, 1010, 2000)


def test_states_from_the_ledgers_and_a_backup_damaged_in_place_is_seen(tmp_path):
    root, state = tmp_path / "backups", str(tmp_path / "state")
    fresh = [backuptree.put(str(root / "fresh"), "fresh", stamp_ago(a), f"{a}".encode(), ext=".sql")
             for a in (2 * DAY, 3600)]
    stale = backuptree.put(str(root / "stale"), "stale", stamp_ago(30 * DAY), b"old", ext=".sql")
    unverified = [backuptree.put(str(root / "unverified"), "unverified", stamp_ago(a), f"{a}".encode(), ext=".sql")
                  for a in (2 * DAY, 3600)]
    damaged = backuptree.put(str(root / "damaged"), "damaged", stamp_ago(3600), b"good", ext=".sql")
    verify(state, *fresh, stale, unverified[0], damaged)
    settle(root)
    clock = Clock()
    inventory = Inventory(str(root), config(**{"web.rescan": 10.0, "web.expect": {"other": DAY}}), state,
                          clock=clock)
    states = {s["name"]: s for s in inventory.sets()}
    assert {n: s["state"] for n, s in states.items()} == {"fresh": "OK", "stale": "STALE",
                                                           "unverified": "UNVERIFIED", "damaged": "OK"}
    assert states["unverified"]["verified_newest"] == iso_ago(2 * DAY)
    assert states["stale"]["reasons"] == ["newest backup 30d old; expected every 1d"]
    # damaged in place: its directory's time does not change, the ledger's does
    backuptree.corrupt(damaged)
    verify(state, damaged)
    settle(root)
    clock.now += 11
    after = {s["name"]: s for s in inventory.sets()}
    assert after["damaged"]["state"] == "FAILED" and after["damaged"]["verify_failed"] is True
    assert "checksum mismatch" in after["damaged"]["reasons"][0]
    assert after["damaged"]["verified_newest"] is None


def test_the_newest_copy_proved_on_the_remote_comes_from_rex_uploads_ledger(tree, tmp_path):
    state = str(tmp_path / "state")
    os.makedirs(state)
    ledger = UploadLedger(state)
    old = f"lib0_{stamp_ago(2 * DAY)}.backup"
    ledger.update("offsite:rex", {f"db1_5432/lib0/{old}": Expected(1, "m", None),
                                  f"db1_5432/lib1/lib1_{stamp_ago(DAY)}.backup": Expected(1, "m", None)}, [])
    ledger.update("elsewhere:rex", {f"db1_5432/lib2/lib2_{stamp_ago(3600)}.backup": Expected(1, "m", None)}, [])
    ledger.close()
    found = {s["name"]: s for s in Inventory(tree, None, state, remote="offsite:rex").sets()}
    assert found["lib0"]["uploaded_newest"] == iso_ago(2 * DAY)
    assert found["lib0"]["uploaded_at"] is not None
    assert found["lib1"]["uploaded_newest"] is None          # no such backup in the tree
    assert found["lib2"]["uploaded_newest"] is None          # proved on another remote


def test_no_backup_root_is_no_sets_and_one_made_later_is_found(tmp_path):
    root = str(tmp_path / "backups")
    inventory = Inventory(root, config(**{"web.rescan": 0.0}), str(tmp_path / "state"))
    assert inventory.sets() == []
    backuptree.put(os.path.join(root, "s"), "s", stamp_ago(60), b"x", ext=".sql")
    assert [s["name"] for s in inventory.sets()] == ["s"]


def test_with_inotify_a_change_is_seen_at_the_next_request_with_no_look(tree, tmp_path, counted):
    import shutil

    state = tmp_path / "state"
    state.mkdir()
    clock = Clock()
    inventory = Inventory(tree, config(**{"web.rescan": 3600.0}), str(state), clock=clock)
    assert len(inventory.sets()) == 4
    counted["scandir"].clear()
    backuptree.put(os.path.join(tree, "db1_5432", "lib1"), "lib1", stamp_ago(60), b"new", ext=".backup")
    assert {s["name"]: s["count"] for s in inventory.sets()}["lib1"] == 4
    assert counted["scandir"] == [os.path.join(tree, "db1_5432", "lib1")]
    backuptree.put(os.path.join(tree, "new", "deeper"), "other", stamp_ago(60), b"x", ext=".sql")
    assert "other" in [s["name"] for s in inventory.sets()]
    assert counted["walks"] == 2           # the start-up walk, and the new directory's alone
    shutil.rmtree(os.path.join(tree, "Lib"))
    assert "Proj" not in [s["name"] for s in inventory.sets()]
    # damaged in place and found so by rex-verify: the directory's time stays, the file's and the ledger's move
    [lib0] = [s for s in inventory.sets() if s["name"] == "lib0"]
    newest = os.path.join(tree, "db1_5432", "lib0", f"lib0_{stamp_ago(3600)}.backup")
    verify(str(state), newest)
    assert [s["state"] for s in inventory.sets() if s["name"] == "lib0"] == ["OK"]
    backuptree.corrupt(newest)
    verify(str(state), newest)
    assert [s["state"] for s in inventory.sets() if s["name"] == "lib0"] == ["FAILED"]
    assert counted["walks"] == 2 and inventory.stats["looks"] == 0 and clock.now == NOW
    inventory.close()


def test_a_symlinked_backup_root_is_watched_through_its_link(tree, tmp_path):
    alias = tmp_path / "alias"
    alias.symlink_to(tree)
    inventory = Inventory(str(alias), config(**{"web.rescan": 3600.0}), str(tmp_path / "state"))
    assert len(inventory.sets()) == 4
    backuptree.put(os.path.join(tree, "top"), "top", stamp_ago(60), b"x", ext=".sql")
    assert "top" in [s["name"] for s in inventory.sets()]
    inventory.close()


def test_an_unreadable_ledger_is_a_warning_and_nothing_counts_as_verified(tree, tmp_path, capfd):
    state = tmp_path / "state"
    state.mkdir()
    (state / "verify.sqlite").write_bytes(b"not a database at all" * 100)
    found = Inventory(tree, None, str(state)).sets()
    assert {s["state"] for s in found} == {"UNVERIFIED"}
    assert "cannot read the verification ledger" in capfd.readouterr().err


def test_by_default_the_ledgers_and_the_remote_are_those_the_configuration_names(tree, tmp_path, monkeypatch):
    state = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    newest = os.path.join(tree, "db1_5432", "lib0", f"lib0_{stamp_ago(3600)}.backup")
    verify(str(state / "rex"), newest)
    ledger = UploadLedger(str(state / "rex"))
    ledger.update("offsite:rex", {f"db1_5432/lib0/lib0_{stamp_ago(3600)}.backup": Expected(1, "m", None)}, [])
    ledger.close()
    [lib0] = [s for s in Inventory(tree, config(**{"upload.remote": "offsite:rex"})).sets() if s["name"] == "lib0"]
    assert lib0["state"] == "OK" and lib0["uploaded_newest"] == lib0["newest"]
