"""proxy-scan through the command, the Resolve simulator and real generated clips:
current/named/all timelines, the media pool, directories; de-duplication by media id;
titles, generated media, linked and offline proxies, missing sources; filters."""

import json
import os
import sys

import pytest

from conftest import SIM
from proxyclips import clip_set, make_clip, make_proxy

from _rexsim import state  # noqa: E402

DB = "Local Database"


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    top = tmp_path_factory.mktemp("media")
    clips = clip_set(str(top / "Card 1"))
    os.makedirs(top / "Day 2")
    clips["d"] = make_clip(str(top / "Day 2" / "D001.mov"), "23.976", timecode="02:00:00:00")
    return clips


@pytest.fixture
def scene(sim, media, tmp_path):
    """Project 'Cut' (open): Edit 1 (current) and Edit 2, bins, every awkward kind of item."""
    state.add_project(DB, (), "Cut", sample=False)
    ids = {
        "a": state.add_media_clip(DB, (), "Cut", media["a2398"], bin_path=("Day 1",)),
        "b": state.add_media_clip(DB, (), "Cut", media["b25"], bin_path=("Day 1",), fps_text=True,
                                  props={"H-FLIP": "On", "Data Level": "Full"}),
        "c": state.add_media_clip(DB, (), "Cut", media["c2997"]),
        "d": state.add_media_clip(DB, (), "Cut", media["d"], bin_path=("Day 2",)),
        "gen": state.add_generated_clip(DB, (), "Cut", "Solid Color"),
    }
    gone = make_clip(str(tmp_path / "gone.mov"), "25")
    ids["gone"] = state.add_media_clip(DB, (), "Cut", gone)
    os.unlink(gone)
    state.add_timeline(DB, (), "Cut", "Edit 1", video=[[ids["a"], ids["b"], ids["a"], ids["gen"]], [ids["c"]]],
                       audio=[[ids["a"], ids["b"]]], titles=["Text+"])
    state.add_timeline(DB, (), "Cut", "Edit 2", video=[ids["d"], ids["a"]])
    state.add_timeline(DB, (), "Cut", "Broken", video=[ids["gone"]])
    state.set_current(DB, (), "Cut")
    ids["gone_path"] = gone
    return ids


def lines(result):
    return [x for x in result.out.split("\n") if x]


def records(result):
    return [json.loads(x) for x in lines(result)]


@pytest.mark.slow
def test_current_timeline_every_video_track_once_per_clip(run, sim, scene, media):
    result = run("proxy-scan", env=sim)
    assert result.returncode == 0, result.err
    # a used twice, b, c on V2; the title, generated media and audio-only items are not clips to proxy.
    assert lines(result) == [media["a2398"], media["b25"], media["c2997"]]
    assert run("proxy-scan", "--timeline", "current", env=sim).out == result.out


@pytest.mark.slow
def test_json_facts(run, sim, scene, media):
    result = run("proxy-scan", "--json", env=sim)
    assert result.returncode == 0, result.err
    rows = {r["path"]: r for r in records(result)}
    a, b, c = rows[media["a2398"]], rows[media["b25"]], rows[media["c2997"]]
    assert a["media_id"] == scene["a"] and a["project"] == "Cut" and a["timeline"] == "Edit 1"
    assert a["fps"] == 23.976 and a["frames"] == 24 and a["start_tc"] == "01:00:00:00"
    assert a["resolution"] == "320x180" and a["audio_tracks"] == 1 and a["proxy"] == "none"
    assert (a["hflip"], a["vflip"], a["data_level"]) == (False, False, "Auto")
    assert b["fps"] == 25 and b["start_tc"] == "10:00:00:00" and b["audio_tracks"] == 2
    assert (b["hflip"], b["data_level"]) == (True, "Full")
    assert c["fps"] == 29.97 and c["audio_tracks"] == 0 and c["frames"] == 30
    assert set(a) >= {"path", "media_id", "project", "timeline", "fps", "frames", "start_tc", "resolution",
                      "hflip", "vflip", "data_level", "audio_tracks", "proxy"}


@pytest.mark.slow
def test_named_globbed_and_all_timelines(run, sim, scene, media):
    result = run("proxy-scan", "--timeline", "Edit 2", env=sim)
    assert lines(result) == [media["d"], media["a2398"]]
    result = run("proxy-scan", "--timeline", "Edit*", env=sim)
    assert lines(result) == [media["a2398"], media["b25"], media["c2997"], media["d"]]
    result = run("proxy-scan", "--timeline", "Edit 2", "--timeline", "current", env=sim)
    assert lines(result) == [media["d"], media["a2398"], media["b25"], media["c2997"]]
    result = run("proxy-scan", "--timeline", "Nope", env=sim)
    assert result.returncode == 64 and "Nope" in result.err and not result.out


@pytest.mark.slow
def test_all_timelines_reports_missing_source(run, sim, scene, media):
    result = run("proxy-scan", "--all-timelines", env=sim)
    assert result.returncode == 1
    assert lines(result) == [media["a2398"], media["b25"], media["c2997"], media["d"]]
    assert scene["gone_path"] in result.err and "missing" in result.err


@pytest.mark.slow
def test_media_pool_whole_and_folder(run, sim, scene, media):
    result = run("proxy-scan", "--media-pool", env=sim)
    assert result.returncode == 1       # the clip whose file is gone
    assert sorted(lines(result)) == sorted([media["a2398"], media["b25"], media["c2997"], media["d"]])
    result = run("proxy-scan", "--media-pool", "Day 1", env=sim)
    assert result.returncode == 0, result.err
    assert lines(result) == [media["a2398"], media["b25"]]
    assert run("proxy-scan", "--media-pool", "Master/Day 2", env=sim).out.split("\n")[0] == media["d"]
    result = run("proxy-scan", "--media-pool", "Nowhere", env=sim)
    assert result.returncode == 64


@pytest.mark.slow
def test_linked_online_skipped_unless_relink_and_offline_included(run, sim, scene, media, tmp_path):
    import subprocess

    proxy = make_proxy(media["a2398"], tmp_path / "a_proxy.mov")
    code = (f"import DaVinciResolveScript as d; p = d.scriptapp('Resolve').GetProjectManager().GetCurrentProject()\n"
            f"root = p.GetMediaPool().GetRootFolder()\n"
            f"item = [c for f in root.GetSubFolderList() for c in f.GetClipList() "
            f"if c.GetMediaId() == {scene['a']!r}][0]\n"
            f"print(item.LinkProxyMedia({proxy!r}), item.GetClipProperty('Proxy'))")
    out = subprocess.run([sys.executable, "-c", code], env=dict(sim, PYTHONPATH=os.path.join(SIM, "Modules")),
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "160x90"]
    result = run("proxy-scan", env=sim)
    assert lines(result) == [media["b25"], media["c2997"]]
    assert lines(run("proxy-scan", "--relink", env=sim)) == [media["a2398"], media["b25"], media["c2997"]]
    os.rename(proxy, proxy + ".away")
    result = run("proxy-scan", "--json", env=sim)
    rows = records(result)
    assert [r["path"] for r in rows] == [media["a2398"], media["b25"], media["c2997"]]
    assert rows[0]["proxy"] == "offline" and rows[0]["proxy_path"] == proxy


@pytest.mark.slow
@pytest.mark.parametrize("args, expected", [
    (["--fps", "23.976"], ["a2398"]),
    (["--fps", "23.98"], ["a2398"]),
    (["--fps", "24000/1001", "--fps", "29.97"], ["a2398", "c2997"]),
    (["--fps", "24"], []),
    (["--fps", "30"], []),
    (["--fps", "25"], ["b25"]),
    (["--extension", "MP4"], ["c2997"]),
    (["--exclude", "*.mp4"], ["a2398", "b25"]),
    (["--include", "*/Card 1/B*"], ["b25"]),
    (["--min-resolution", "320x180"], ["a2398", "b25", "c2997"]),
    (["--min-resolution", "720"], []),
])
def test_filters(run, sim, scene, media, args, expected):
    result = run("proxy-scan", *args, env=sim)
    assert result.returncode == 0, result.err
    assert lines(result) == [media[k] for k in expected]


@pytest.mark.slow
def test_filters_from_config(run, sim, scene, media, tmp_path):
    cfg = tmp_path / "rex.yaml"
    cfg.write_text("scan:\n  fps: [29.97, 23.976]\n  exclude: ['*A001*']\n")
    result = run("proxy-scan", "-c", cfg, env=sim)
    assert result.returncode == 0, result.err
    assert lines(result) == [media["c2997"]]
    # an option replaces the configured list
    assert lines(run("proxy-scan", "-c", cfg, "--fps", "25", env=sim)) == [media["b25"]]
    cfg.write_text("scan:\n  fsp: [25]\n")
    result = run("proxy-scan", "-c", cfg, env=sim)
    assert result.returncode == 78 and "rex.yaml:2:3" in result.err and "'fps'" in result.err


@pytest.mark.slow
def test_directories_and_files(run, rex_env, media, tmp_path):
    card = os.path.dirname(media["a2398"])
    (tmp_path / "notes.txt").write_text("x")
    os.makedirs(os.path.join(card, "Proxy"), exist_ok=True)
    make_proxy(media["a2398"], os.path.join(card, "Proxy", "A001 23.976.mov"))
    result = run("proxy-scan", card, media["d"], str(tmp_path / "notes.txt"), env=rex_env)
    assert result.returncode == 0, result.err
    assert lines(result) == sorted([media["a2398"], media["b25"], media["c2997"]]) + [media["d"]]
    result = run("proxy-scan", "--fps", "23.976", "--json", os.path.dirname(card), env=rex_env)
    rows = records(result)
    assert [r["path"] for r in rows] == [media["a2398"], media["d"]]
    assert rows[0]["frames"] == 24 and rows[0]["start_tc"] == "01:00:00:00" and rows[0]["audio_tracks"] == 1
    result = run("proxy-scan", str(tmp_path / "nothing-here"), env=rex_env)
    assert result.returncode == 66
    result = run("proxy-scan", "-", env=rex_env, input=media["b25"] + "\n")
    assert lines(result) == [media["b25"]]


@pytest.mark.slow
def test_files_without_video_are_left_out_alike_in_both_modes(run, rex_env, media, tmp_path):
    """A .mov with only sound is named and left out (0), one ffprobe cannot read (empty, text)
    is named and not listed (65); plain and --json list the same clips and exit alike."""
    import subprocess

    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "empty.mov").write_bytes(b"")
    (odd / "notes.mov").write_text("not a clip\n")
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "sine=duration=1",
                    "-c:a", "pcm_s16le", str(odd / "sound.mov")], check=True, timeout=60)
    good = media["b25"]
    only_sound = run("proxy-scan", odd / "sound.mov", good, env=rex_env)
    assert only_sound.returncode == 0, only_sound.err
    assert lines(only_sound) == [good]
    assert only_sound.err == f"proxy-scan: {odd / 'sound.mov'}: left out: no video stream\n"
    for args in ([], ["--json"]):
        result = run("proxy-scan", *args, odd, good, env=rex_env)
        assert result.returncode == 65, (args, result.err)
        assert [json.loads(x)["path"] if args else x for x in lines(result)] == [good], args
        errors = result.err.splitlines()
        assert len(errors) == 3, result.err
        assert any(str(odd / "empty.mov") in e for e in errors) and any(str(odd / "notes.mov") in e for e in errors)
        assert any(str(odd / "sound.mov") in e and "no video stream" in e for e in errors)
        assert "Traceback" not in result.err


def test_resolve_unreachable_and_no_project(run, sim):
    assert run("proxy-scan", env=sim).returncode == 75       # nothing open
    state.set_running(False)
    result = run("proxy-scan", env=sim)
    assert result.returncode == 75 and "Resolve" in result.err


@pytest.mark.slow
def test_native_library_that_does_not_load_is_69_naming_it(run, sim, scene, tmp_path):
    lib = str(tmp_path / "nowhere" / "fusionscript.so")
    result = run("proxy-scan", env=dict(sim, RESOLVE_SCRIPT_LIB=lib))
    assert result.returncode == 69, result.err
    assert lib in result.err and "/opt/resolve/libs/Fusion/fusionscript.so" in result.err
    assert len(result.err.strip().splitlines()) == 1 and result.out == ""


def test_usage_errors(run, sim, media):
    assert run("proxy-scan", "--fps", "fast", env=sim).returncode == 64
    assert run("proxy-scan", "--min-resolution", "big", env=sim).returncode == 64
    assert run("proxy-scan", "--all-timelines", media["b25"], env=sim).returncode == 64
    assert run("proxy-scan", "--all-timelines", "--media-pool", env=sim).returncode == 64


# --- Resolve's awkward parts (reference/resolve.md), each through the command ------------------

@pytest.mark.slow
def test_project_reloaded_mid_scan_is_scanned_again_with_fresh_handles(run, sim, scene, media):
    # Before the second clip is read, the user closes the project and opens it again:
    # every handle Rex holds answers None from then on.
    state.on_call("MediaPoolItem.GetClipProperty", "reload", nth=2)
    result = run("proxy-scan", "--all-timelines", env=sim)
    assert result.returncode == 1, result.err          # the clip whose file is gone, as always
    assert sorted(lines(result)) == sorted([media["a2398"], media["b25"], media["c2997"], media["d"]])
    state.on_call("MediaPoolItem.GetClipProperty", "reload", nth=3)
    result = run("proxy-scan", "--media-pool", "Day 1", "--json", env=sim)
    assert result.returncode == 0, result.err
    assert [r["path"] for r in records(result)] == [media["a2398"], media["b25"]]


@pytest.mark.slow
@pytest.mark.parametrize("action", ["open:Other", "close", "database:facility"])
def test_project_closed_mid_scan_is_75_not_a_short_list(run, sim, scene, media, action):
    state.add_project(DB, (), "Other", sample=False)
    state.add_database("facility")
    state.on_call("MediaPoolItem.GetClipProperty", action, nth=2)
    result = run("proxy-scan", "--all-timelines", env=sim)
    assert result.returncode == 75, result.err
    assert "'Cut'" in result.err and "closed" in result.err


@pytest.mark.slow
def test_timelines_in_the_media_pool_are_not_clips(run, sim, scene, media):
    # Timelines are media pool items too: no file path, no proxy, a "Type" of Timeline.
    state.add_timeline(DB, (), "Cut", "Day 1 selects", video=[scene["a"]], bin_path=("Day 1",))
    state.add_timeline(DB, (), "Cut", os.path.basename(media["d"]), video=[scene["d"]], bin_path=("Day 2",))
    for args in (["--media-pool"], ["--media-pool", "--json"], ["--media-pool", "Day 2", "--json"]):
        result = run("proxy-scan", *args, env=sim)
        assert result.returncode in (0, 1), result.err
        paths = lines(result) if "--json" not in args else [r["path"] for r in records(result)]
        assert sorted(paths) == ([media["d"]] if "Day 2" in args else
                                 sorted([media["a2398"], media["b25"], media["c2997"], media["d"]]))
        assert all(os.path.isfile(p) for p in paths)


@pytest.mark.slow
def test_localized_type_changes_nothing(run, sim, scene, media):
    english = [run("proxy-scan", *args, env=sim).out for args in ([], ["--media-pool", "--json"])]
    state.set_language("ja")            # "Type" reads ビデオ, タイムライン, ...
    japanese = [run("proxy-scan", *args, env=sim).out for args in ([], ["--media-pool", "--json"])]
    assert japanese == english and english[0]


@pytest.mark.slow
def test_only_positional_documented_list_calls_are_made(run, sim, scene, media):
    # Keyword or wrong-count arguments fail silently (None/False) with the real product,
    # the deprecated dict calls key by floats, and hasattr() is true for every name: the
    # simulator notes each such use (and the sim fixture checks for none after every test).
    for args in ([], ["--all-timelines", "--json"], ["--media-pool"], ["--timeline", "Edit*"]):
        run("proxy-scan", *args, env=sim)
    assert state.misuse() == []
