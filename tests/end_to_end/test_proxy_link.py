"""proxy-link through the command and the strict Resolve simulator, with real clips and
proxies made by plain ffmpeg: links that work, each reason for a refusal, the Project
Manager window, offline proxies, the wrong project, dry runs, and the confirmation
asked on a real terminal (pexpect)."""

import json
import os
import shlex
import sys

import pytest

from conftest import BIN
from proxyclips import clip_set, make_proxy

from _rexsim import state  # noqa: E402
from _rexsim.app import Resolve  # noqa: E402

DB = "Local Database"


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    top = tmp_path_factory.mktemp("media")
    clips = clip_set(str(top / "Card"))
    px = top / "proxies"
    px.mkdir()
    clips["proxies"] = {k: make_proxy(clips[k], px / (k + ".mov")) for k in ("a2398", "b25", "c2997")}
    return clips


@pytest.fixture
def scene(sim, media):
    """Project 'Cut' open, its three clips in two bins (one clip imported twice)."""
    state.add_project(DB, (), "Cut", sample=False)
    state.add_project(DB, (), "Other", sample=False)
    ids = {"a2398": state.add_media_clip(DB, (), "Cut", media["a2398"], bin_path=("Day 1", "Cam A")),
           "b25": state.add_media_clip(DB, (), "Cut", media["b25"]),
           "c2997": state.add_media_clip(DB, (), "Cut", media["c2997"], bin_path=("Day 1",))}
    state.add_timeline(DB, (), "Cut", "Edit 1", video=list(ids.values()))
    state.set_current(DB, (), "Cut")
    return ids


def item(media_id):
    """The simulated media pool item (in this process, like a script would)."""
    root = Resolve().GetProjectManager().GetCurrentProject().GetMediaPool().GetRootFolder()
    stack = [root]
    while stack:
        f = stack.pop()
        for c in f.GetClipList():
            if c.GetMediaId() == media_id:
                return c
        stack.extend(f.GetSubFolderList())
    raise KeyError(media_id)


def proxy_of(media_id):
    return item(media_id).GetClipProperty("Proxy")


def pairs(media, *keys, proxies=None):
    proxies = proxies or media["proxies"]
    return "".join(f"{media[k]}\t{proxies[k]}\n" for k in keys)


def lines(result):
    return [x for x in result.out.split("\n") if x]


@pytest.mark.slow
def test_links_pairs_and_proxy_shows_its_resolution(run, sim, scene, media):
    result = run("proxy-link", env=sim, input=pairs(media, "a2398", "b25", "c2997"))
    assert result.returncode == 0, result.err
    assert lines(result) == [f"{media[k]}\t{media['proxies'][k]}" for k in ("a2398", "b25", "c2997")]
    assert [proxy_of(scene[k]) for k in ("a2398", "b25", "c2997")] == ["160x90"] * 3
    # A second run finds them linked and passes them on again.
    result = run("proxy-link", "--json", env=sim, input=pairs(media, "a2398"))
    assert result.returncode == 0, result.err
    row = json.loads(result.out)
    assert row["source"] == media["a2398"] and row["path"] == media["proxies"]["a2398"]
    assert row["status"] == "already" and row["proxy"] == "160x90" and row["project"] == "Cut"


@pytest.mark.slow
def test_scan_json_records_with_media_id(run, sim, scene, media, tmp_path):
    scan = run("proxy-scan", "--json", env=sim)
    assert scan.returncode == 0, scan.err
    records = []
    for line in scan.out.splitlines():
        r = json.loads(line)
        key = next(k for k in ("a2398", "b25", "c2997") if media[k] == r["path"])
        records.append(json.dumps({"source": r["path"], "path": media["proxies"][key], "media_id": r["media_id"],
                                   "project": r["project"], "project_id": r["project_id"]}))
    result = run("proxy-link", "--json", env=sim, input="\n".join(records) + "\n")
    assert result.returncode == 0, result.err
    assert {json.loads(x)["media_id"] for x in lines(result)} == set(scene.values())
    assert all(proxy_of(m) == "160x90" for m in scene.values())


@pytest.mark.slow
@pytest.mark.parametrize("kind, proxy_args, reason", [
    ("timecode", dict(timecode=None), "start timecode differs: source 01:00:00:00"),
    ("frames", dict(frames=20), "frame count differs: source 24, proxy 20"),
    ("audio", dict(audio=False), "audio stream count differs: source 1, proxy 0"),
    ("rate", dict(rate="25"), "frame rate differs: source 23.976, proxy 25"),
])
def test_refusals_name_the_reason(run, sim, scene, media, tmp_path, kind, proxy_args, reason):
    bad = make_proxy(media["a2398"], tmp_path / f"bad-{kind}.mov", **proxy_args)
    result = run("proxy-link", env=sim, input=f"{media['a2398']}\t{bad}\n" + pairs(media, "b25"))
    assert result.returncode == 1
    assert reason in result.err, result.err
    assert "Project Manager" in result.err
    assert lines(result) == [f"{media['b25']}\t{media['proxies']['b25']}"]    # the rest were done
    assert proxy_of(scene["a2398"]) == "None" and proxy_of(scene["b25"]) == "160x90"


def test_missing_proxy_and_unknown_source(run, sim, scene, media, tmp_path):
    result = run("proxy-link", env=sim, input=f"{media['a2398']}\t{tmp_path / 'none.mov'}\n"
                                              f"{tmp_path / 'elsewhere.mov'}\t{media['proxies']['b25']}\n"
                                              "no tab here\n")
    assert result.returncode == 65
    assert "proxy file missing" in result.err
    assert "no clip of this file" in result.err and "not a SOURCE<TAB>PROXY pair" in result.err
    assert not result.out


@pytest.mark.slow
def test_project_manager_window_open(run, sim, scene, media):
    state.set_project_manager_open(True)
    result = run("proxy-link", env=sim, input=pairs(media, "b25"))
    assert result.returncode == 1
    assert "no difference found" in result.err and "Project Manager window is open" in result.err
    state.set_project_manager_open(False)
    assert run("proxy-link", env=sim, input=pairs(media, "b25")).returncode == 0


@pytest.mark.slow
def test_offline_proxy_is_unlinked_and_linked_again(run, sim, scene, media, tmp_path):
    moved = make_proxy(media["c2997"], tmp_path / "c.mov")
    assert run("proxy-link", env=sim, input=f"{media['c2997']}\t{moved}\n").returncode == 0
    os.rename(moved, moved + ".away")
    assert proxy_of(scene["c2997"]) == "Offline"
    os.rename(moved + ".away", moved)
    assert proxy_of(scene["c2997"]) == "Offline"          # Resolve keeps it offline
    result = run("proxy-link", "-v", "--json", env=sim, input=f"{media['c2997']}\t{moved}\n")
    assert result.returncode == 0, result.err
    assert json.loads(result.out)["status"] == "relinked" and "offline" in result.err
    assert proxy_of(scene["c2997"]) == "160x90"


def test_refuses_another_project(run, sim, scene, media):
    record = json.dumps({"source": media["b25"], "path": media["proxies"]["b25"], "project": "Other"})
    result = run("proxy-link", env=sim, input=record + "\n")
    assert result.returncode == 1 and "'Other'" in result.err and not result.out
    assert proxy_of(scene["b25"]) == "None"


def test_dry_run_links_nothing(run, sim, scene, media):
    result = run("proxy-link", "-n", env=sim, input=pairs(media, "a2398", "b25"))
    assert result.returncode == 0, result.err
    assert not result.out and result.err.count("would link") == 2
    assert proxy_of(scene["a2398"]) == "None"


def test_resolve_unreachable(run, sim, scene, media):
    state.set_running(False)
    assert run("proxy-link", env=sim, input=pairs(media, "b25")).returncode == 75


@pytest.mark.slow
@pytest.mark.parametrize("answer, linked", [("n", False), ("y", True)])
def test_asks_once_on_a_terminal_over_the_limit(sim, scene, media, tmp_path, answer, linked):
    pexpect = pytest.importorskip("pexpect")
    (tmp_path / "pairs").write_text(pairs(media, "a2398", "b25", "c2997"))
    cmd = (f"{shlex.quote(sys.executable)} {shlex.quote(os.path.join(BIN, 'proxy-link'))} --confirm-over 2 "
           f"< {shlex.quote(str(tmp_path / 'pairs'))} > {shlex.quote(str(tmp_path / 'out'))}")
    child = pexpect.spawn("/bin/sh", ["-c", cmd], env=sim, encoding="utf-8", timeout=60)
    child.expect(r"Link 3 proxies into project 'Cut'\? \[y/N\] ")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    out = (tmp_path / "out").read_text()
    assert (len(out.splitlines()) == 3) is linked
    assert (proxy_of(scene["b25"]) == "160x90") is linked
    # Under the limit, or not on a terminal, nobody is asked.
    child = pexpect.spawn("/bin/sh", ["-c", cmd.replace("--confirm-over 2", "--confirm-over 3")], env=sim,
                          encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    assert "[y/N]" not in child.before


# --- Resolve's awkward parts (reference/resolve.md), each through the command ------------------

@pytest.mark.slow
def test_project_reloaded_before_linking_links_with_fresh_handles(run, sim, scene, media):
    # The user closes and reopens the project just before the first link: Rex's handles
    # go stale and answer False, which is not Resolve refusing the proxy.
    state.on_call("MediaPoolItem.LinkProxyMedia", "reload", nth=1)
    state.on_call("MediaPoolItem.GetClipProperty", "reload", nth=5)
    result = run("proxy-link", env=sim, input=pairs(media, "a2398", "b25", "c2997"))
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 3
    assert [proxy_of(scene[k]) for k in ("a2398", "b25", "c2997")] == ["160x90"] * 3


@pytest.mark.parametrize("action", ["open:Other", "close", "database:facility"])
def test_project_closed_while_linking_is_75_and_links_nothing_elsewhere(run, sim, scene, media, action):
    state.add_database("facility")
    state.on_call("MediaPoolItem.LinkProxyMedia", action, nth=2)
    result = run("proxy-link", env=sim, input=pairs(media, "a2398", "b25", "c2997"))
    assert result.returncode == 75, result.err
    assert "'Cut'" in result.err and "closed" in result.err
    assert lines(result) == [f"{media['a2398']}\t{media['proxies']['a2398']}"]   # linked before
    state.set_current(DB, (), "Cut")
    assert [proxy_of(scene[k]) for k in ("a2398", "b25", "c2997")] == ["160x90", "None", "None"]


@pytest.mark.slow
def test_timelines_in_the_media_pool_are_left_alone(run, sim, scene, media):
    # A timeline named like the source file, in the same bin: it has no file path and no
    # proxy, so only the clip is linked.
    name = os.path.basename(media["b25"])
    tl = state.add_timeline(DB, (), "Cut", name, video=[scene["b25"]])
    state.add_timeline(DB, (), "Cut", "Selects", video=[scene["a2398"]], bin_path=("Day 1", "Cam A"))
    result = run("proxy-link", "--json", env=sim, input=pairs(media, "a2398", "b25"))
    assert result.returncode == 0, result.err
    assert [json.loads(x)["media_id"] for x in lines(result)] == [scene["a2398"], scene["b25"]]
    assert proxy_of(tl) is None and proxy_of(scene["b25"]) == "160x90"


@pytest.mark.slow
def test_localized_type_changes_nothing(run, sim, scene, media):
    state.set_language("ja")
    result = run("proxy-link", env=sim, input=pairs(media, "a2398", "b25", "c2997"))
    assert result.returncode == 0, result.err
    assert [proxy_of(scene[k]) for k in ("a2398", "b25", "c2997")] == ["160x90"] * 3
    assert state.misuse() == []
