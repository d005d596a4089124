"""The Resolve simulator, used the way a real script uses Resolve's module:
found through $RESOLVE_SCRIPT_API/Modules, in separate processes sharing one state."""
import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
import xml.parsers.expat
import zipfile

import pytest

SIM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resolve_sim")
SIM_LIB = os.path.join(SIM, "lib", "fusionscript.py")
sys.path.insert(0, os.path.join(SIM, "Modules"))

from _rexsim import state  # noqa: E402

PRELUDE = """
import importlib.util, json, os, sys
_p = os.path.join(os.environ["RESOLVE_SCRIPT_API"], "Modules", "DaVinciResolveScript.py")
_s = importlib.util.spec_from_file_location("DaVinciResolveScript", _p)
dvr = importlib.util.module_from_spec(_s)
sys.modules["DaVinciResolveScript"] = dvr
_s.loader.exec_module(dvr)
dvr = sys.modules["DaVinciResolveScript"]  # the loader put the native module in its place
resolve = dvr.scriptapp("Resolve")
pm = resolve and resolve.GetProjectManager()
"""
DB = "Local Database"


@pytest.fixture
def sim(tmp_path, monkeypatch):
    monkeypatch.setenv("REX_SIM_STATE", str(tmp_path / "state.json"))
    monkeypatch.setenv("RESOLVE_SCRIPT_API", SIM)
    monkeypatch.setenv("RESOLVE_SCRIPT_LIB", SIM_LIB)
    state.empty()
    return tmp_path


def run(code):
    """Run CODE after connecting; whatever it assigns to `out` comes back (JSON)."""
    src = PRELUDE + textwrap.dedent(code) + "\nprint(json.dumps(out))\n"
    res = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ))
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.splitlines()[-1])


@pytest.mark.parametrize("arrange", [
    lambda: state.set_running(False),
    lambda: state.set_scripting("None"),
    lambda: state.set_version(21, 1, 0, product="DaVinci Resolve"),
])
def test_scriptapp_is_none_when_resolve_cannot_be_scripted(sim, arrange):
    assert run("out = resolve is not None") is True
    arrange()
    assert run("out = resolve is not None") is False


def test_scriptapp_other_apps_are_none(sim):
    assert run("out = [dvr.scriptapp('Fusion'), dvr.scriptapp('Nope')]") == [None, None]


def test_listing_is_scoped_to_current_folder_and_names_are_bare(sim):
    state.add_project(DB, (), "Cut")
    state.add_project(DB, ("Jobs",), "Cut")
    state.add_project(DB, ("Jobs", "a/../b"), "Ünï/..")
    out = run("""
        out = [pm.GetProjectListInCurrentFolder(), pm.GetFolderListInCurrentFolder(),
               pm.GetCurrentFolder(), pm.OpenFolder("a/../b"), pm.OpenFolder("Jobs"),
               pm.GetProjectListInCurrentFolder(), pm.GetFolderListInCurrentFolder(),
               pm.OpenFolder("a/../b"), pm.GetCurrentFolder(), pm.GetProjectListInCurrentFolder()]
    """)
    assert out == [["Cut"], ["Jobs"], "", False, True, ["Cut"], ["a/../b"], True, "a/../b",
                   ["Ünï/.."]]
    # the current folder is Resolve's, so the next process starts where this one left off
    out = run("""
        out = [pm.GetCurrentFolder(), pm.LoadProject("Cut") is None, pm.GotoParentFolder(),
               pm.GetCurrentFolder(), pm.GotoRootFolder(), pm.GotoParentFolder(),
               pm.GetCurrentFolder(), pm.LoadProject("Ünï/..") is None]
    """)
    assert out == ["a/../b", True, True, "Jobs", True, False, "", True]


def test_set_current_database_closes_the_open_project(sim):
    state.add_database("facility")
    state.add_project(DB, ("Jobs",), "Cut")
    out = run("""
        pm.OpenFolder("Jobs")
        p = pm.LoadProject("Cut")
        before = [p.GetName(), pm.GetCurrentProject().GetName(), pm.GetCurrentDatabase()]
        ok = pm.SetCurrentDatabase({"DbType": "PostgreSQL", "DbName": "facility"})
        out = before + [ok, pm.GetCurrentProject(), p.GetName(), pm.GetCurrentFolder(),
                        pm.GetCurrentDatabase(), len(pm.GetDatabaseList()),
                        pm.SetCurrentDatabase({"DbType": "Disk", "DbName": "nope"})]
    """)
    assert out == ["Cut", "Cut", {"DbType": "Disk", "DbName": DB}, True, None, None, "",
                   {"DbType": "PostgreSQL", "DbName": "facility", "IpAddress": "127.0.0.1"},
                   2, False]


def _export_twice(sim):
    state.add_project(DB, (), "Cut")
    a, b = str(sim / "a.drp"), str(sim / "b.drp")
    assert run(f"out = [pm.ExportProject('Cut', {a!r}), pm.ExportProject('Cut', {b!r}, True)]") \
        == [True, True]
    return a, b


def test_exports_of_unchanged_project_differ_in_bytes_not_in_shape(sim):
    a, b = _export_twice(sim)
    assert open(a, "rb").read() != open(b, "rb").read()
    na, nb = zipfile.ZipFile(a).namelist(), zipfile.ZipFile(b).namelist()
    assert len(na) == len(nb)
    assert [n for n in na if not n.startswith("SeqContainer/")] == \
        [n for n in nb if not n.startswith("SeqContainer/")]
    assert {n for n in na if n.startswith("SeqContainer/")} != \
        {n for n in nb if n.startswith("SeqContainer/")}  # named by fresh ids


def test_exports_are_zips_of_non_namespace_xml_like_resolves(sim):
    a, _ = _export_twice(sim)
    with zipfile.ZipFile(a) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names[:2] == ["project.xml", "MediaPool/Master/MpFolder.xml"]
        assert names[-1] == "Gallery.xml" and any(n.startswith("SeqContainer/") for n in names)
        for name in names:
            data = zf.read(name)
            assert data.split(b"\n")[1].startswith(b'<!--DbAppVer="21.0.4.0005" DbPrjVer="17"')
            tags = []
            p = xml.parsers.expat.ParserCreate()
            p.StartElementHandler = lambda tag, attrs: tags.append(tag)
            p.Parse(data, True)
            if name == "project.xml":
                assert tags[0] == "SM_Project" and "ListMgt::LmPowerNodeList" in tags
                with pytest.raises(ET.ParseError):
                    ET.fromstring(data)  # not namespace-valid, like the real files


def test_export_without_stills_has_no_gallery_and_content_follows_changes(sim):
    state.add_project(DB, (), "Cut")
    a, b = str(sim / "a.drp"), str(sim / "b.drp")
    assert run(f"out = pm.ExportProject('Cut', {a!r}, False)") is True
    state.rename_timeline(DB, (), "Cut", 1, "Conform v2")
    assert run(f"out = pm.ExportProject('Cut', {b!r}, False)") is True
    read = lambda p: zipfile.ZipFile(p).read("MediaPool/Master/MpFolder.xml")  # noqa: E731
    assert b"Conform v2" not in read(a) and b"Conform v2" in read(b)
    assert "Gallery.xml" not in zipfile.ZipFile(a).namelist()


def test_export_refusals_and_simulated_failures(sim):
    state.add_project(DB, ("Jobs",), "Cut")
    f = str(sim / "x.drp")
    assert run(f"""out = [pm.ExportProject('Cut', {f!r}), pm.ExportProject('Nope', {f!r}),
                          pm.OpenFolder('Jobs'), pm.ExportProject('Cut', {str(sim / 'no/x.drp')!r})]
               """) == [False, False, True, False]
    state.set_export_fails("nothing")
    assert run(f"out = pm.ExportProject('Cut', {f!r})") is True and not os.path.exists(f)
    state.set_export_fails("notzip")
    assert run(f"out = pm.ExportProject('Cut', {f!r})") is True
    assert not zipfile.is_zipfile(f)


def test_import_round_trip_and_name_refusal(sim):
    state.add_project(DB, (), "Cut")
    f = str(sim / "cut.drp")
    out = run(f"""
        pm.ExportProject("Cut", {f!r})
        refused, ok = pm.ImportProject({f!r}), pm.ImportProject({f!r}, "Cut copy")
        tl = pm.LoadProject("Cut copy").GetTimelineByIndex(1)
        out = [refused, ok, pm.GetProjectListInCurrentFolder(), tl.GetName(),
               [i.GetName() for i in tl.GetItemListInTrack("video", 1)],
               [i.GetMediaPoolItem() is None for i in tl.GetItemListInTrack("video", 2)],
               tl.GetItemListInTrack("video", 1)[0].GetMediaPoolItem().GetClipProperty("FPS")]
    """)
    assert out == [False, True, ["Cut", "Cut copy"], "Edit 1",
                   ["A001_C001.mov", "A001_C002.mov"], [True], 24]


def test_any_attribute_answers_but_dir_lists_only_real_methods(sim):
    out = run("""
        objs = [resolve, pm, pm.CreateProject("New"), pm.GetCurrentProject().GetMediaPool()]
        out = [[hasattr(o, "NoSuchCall"), o.NoSuchCall(1, 2), "NoSuchCall" in dir(o)]
               for o in objs] + ["GetProjectManager" in dir(resolve), "LoadProject" in dir(pm)]
    """)
    assert out == [[True, None, False]] * 4 + [True, True]


@pytest.mark.parametrize("version,listed", [((21, 0, 2), False), ((21, 0, 3), True)])
def test_project_attributes_only_from_21_0_3(sim, version, listed):
    state.set_version(*version)
    state.add_project(DB, (), "Cut")
    out = run("""
        out = ["GetProjectAttributesInCurrentFolder" in dir(pm),
               hasattr(pm, "GetProjectAttributesInCurrentFolder"),
               pm.GetProjectAttributesInCurrentFolder()]
    """)
    assert out[:2] == [listed, True]
    assert (sorted(out[2]["Cut"]) == ["creationDate", "lastModifiedDate"]) if listed \
        else out[2] is None


def test_proxy_link_states_and_offline_latch(sim):
    state.add_project(DB, (), "Cut")
    px = sim / "px.mov"
    px.write_bytes(b"")
    out = run(f"""
        clip = pm.LoadProject("Cut").GetMediaPool().GetRootFolder().GetClipList()[0]
        out = [clip.GetClipProperty("Proxy"), clip.LinkProxyMedia({str(sim / 'none.mov')!r}),
               clip.LinkProxyMedia({str(px)!r}), clip.GetClipProperty()["Proxy"]]
        os.rename({str(px)!r}, {str(px)!r} + ".gone")
        out.append(clip.GetClipProperty("Proxy"))
        os.rename({str(px)!r} + ".gone", {str(px)!r})
        out += [clip.GetClipProperty("Proxy"), clip.UnlinkProxyMedia(),
                clip.LinkProxyMedia({str(px)!r}), clip.GetClipProperty("Proxy")]
    """)
    assert out == ["None", False, True, "960x540", "Offline", "Offline", True, True, "960x540"]


def test_concurrent_processes_do_not_lose_updates(sim):
    code = PRELUDE + "for i in range(5): pm.CreateProject('p%s-%d' % (sys.argv[1], i))\n"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(n)]) for n in range(4)]
    assert [p.wait(60) for p in procs] == [0] * 4
    assert len(run("out = pm.GetProjectListInCurrentFolder()")) == 20


def test_imports_real_resolve_exports(sim):
    from drpfiles import real_fixtures

    files = real_fixtures()
    out = run(f"""
        out = []
        for f in {files!r}:
            out.append(pm.ImportProject(f))
        for name in pm.GetProjectListInCurrentFolder():
            p = pm.LoadProject(name)
            out.append([name, p.GetTimelineCount(), p.GetTimelineByIndex(1).GetName()])
    """)
    assert out == [True, True, ["ZZ_COMPOUND_RE", 2, "ZZ_CMP_TL"],
                   ["sample-capture-project", 1, "capture-timeline"]]


def test_strict_proxy_linking_with_real_media(sim):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from proxyclips import make_clip, make_proxy

    src = make_clip(sim / "A.mov", "23.976", timecode="01:00:00:00", audio=2)
    good = make_proxy(src, sim / "good.mov")
    bad = {"tc": make_proxy(src, sim / "tc.mov", timecode="00:00:00:00"),
           "frames": make_proxy(src, sim / "frames.mov", frames=10),
           "audio": make_proxy(src, sim / "audio.mov", audio=False)}
    state.add_project(DB, (), "Cut", sample=False)
    mid = state.add_media_clip(DB, (), "Cut", src, bin_path=("Day 1",), fps_text=True)
    gen = state.add_generated_clip(DB, (), "Cut", "Solid")
    state.add_timeline(DB, (), "Cut", "Edit", video=[[mid, gen, mid]], titles=["Text+"])
    state.set_current(DB, (), "Cut")
    props = state.clip_props(DB, (), "Cut", mid)
    assert (props["FPS"], props["Frames"], props["Start TC"], props["Resolution"], props["Audio Ch"]) == \
        ("23.976", "24", "01:00:00:00", "320x180", "2")
    out = run(f"""
        p = pm.GetCurrentProject()
        tl = p.GetCurrentTimeline()
        items = tl.GetItemListInTrack("video", 1)
        clip = items[0].GetMediaPoolItem()
        out = [[i.GetMediaPoolItem() and i.GetMediaPoolItem().GetClipProperty("File Path") for i in items],
               [i.GetMediaPoolItem() for i in tl.GetItemListInTrack("video", 2)], tl.GetTrackCount("audio")]
        out.append([clip.LinkProxyMedia(p) for p in {list(bad.values())!r}])
        out.append(clip.GetClipProperty("Proxy"))
        out += [clip.LinkProxyMedia({good!r}), clip.GetClipProperty("Proxy")]
    """)
    assert out == [[src, "", src], [None], 1, [False, False, False], "None", True, "160x90"]
    state.set_project_manager_open(True)
    assert run(f"""
        clip = pm.GetCurrentProject().GetCurrentTimeline().GetItemListInTrack("video", 1)[0].GetMediaPoolItem()
        out = [clip.UnlinkProxyMedia(), clip.LinkProxyMedia({good!r}), clip.GetClipProperty("Proxy")]
    """) == [True, False, "None"]


def test_the_module_file_is_only_a_loader_that_swaps_in_the_native_library(sim):
    out = run("""
        import DaVinciResolveScript as imported
        out = [imported is dvr, "scriptapp" in vars(sys.modules["DaVinciResolveScript"]),
               os.path.basename(dvr.__file__)]
    """)
    assert out == [True, True, "fusionscript.py"]
    src = open(os.path.join(SIM, "Modules", "DaVinciResolveScript.py")).read()
    assert "def scriptapp" not in src
    env = dict(os.environ, RESOLVE_SCRIPT_LIB="/nowhere/fusionscript.so")
    res = subprocess.run([sys.executable, "-c", PRELUDE], capture_output=True, text=True, env=env)
    assert res.returncode == 1 and "ImportError: Could not locate module dependencies" in res.stderr


def test_keyword_and_wrong_count_calls_fail_silently_and_are_noted(sim):
    state.add_project(DB, (), "Cut")
    out = run("""
        out = [pm.LoadProject(projectName="Cut"), pm.OpenFolder(), pm.OpenFolder("a", "b"),
               pm.ExportProject("Cut", "/tmp/x.drp", withStillsAndLUTs=False),
               pm.GetProjectListInCurrentFolder(1)]
    """)
    assert out == [None, False, False, False, None]
    assert len(state.misuse()) == 5


def test_handles_go_stale_after_load_close_and_database_switch(sim):
    state.add_project(DB, (), "Cut")
    state.add_project(DB, (), "Other")
    state.add_database("facility")
    out = run("""
        def grab():
            p = pm.LoadProject("Cut")
            pool = p.GetMediaPool()
            folder = pool.GetRootFolder()
            clip = folder.GetClipList()[0]
            tl = p.GetTimelineByIndex(1)
            item = tl.GetItemListInTrack("video", 1)[0]
            return [p, pool, folder, clip, tl, item]
        def alive(hs):
            p, pool, folder, clip, tl, item = hs
            return [p.GetName(), pool.GetRootFolder() is not None, folder.GetName(),
                    clip.GetClipProperty("Clip Name"), tl.GetName(), item.GetName(),
                    clip.LinkProxyMedia("/x.mov")]
        out = []
        hs = grab(); out.append(alive(hs))
        pm.LoadProject("Cut"); out.append(alive(hs))       # the same project loaded again
        hs = grab(); pm.CloseProject(hs[0]); out.append(alive(hs))
        hs = grab(); pm.SetCurrentDatabase({"DbType": "PostgreSQL", "DbName": "facility"})
        out.append(alive(hs))
    """)
    dead = [None, False, None, None, None, None, False]
    assert out == [["Cut", True, "Master", "A001_C001.mov", "Edit 1", "A001_C001.mov", False], dead, dead, dead]


def test_timelines_are_media_pool_items_and_type_is_localized(sim):
    state.add_project(DB, (), "Cut")
    state.set_current(DB, (), "Cut")
    code = """
        root = pm.GetCurrentProject().GetMediaPool().GetRootFolder()
        tl = root.GetClipList()[-1]
        props = tl.GetClipProperty()
        out = [tl.GetName(), props["Type"], "File Path" in props, "Proxy" in props,
               root.GetClipList()[0].GetClipProperty("Type"), tl.LinkProxyMedia("/x.mov")]
    """
    assert run(code) == ["Edit 1", "Timeline", False, False, "Video + Audio", False]
    state.set_language("ja")
    assert run(code) == ["Edit 1", "タイムライン", False, False, "ビデオ + オーディオ", False]


def test_deprecated_calls_key_by_floats(sim):
    state.add_project(DB, (), "Cut")
    state.set_current(DB, (), "Cut")
    out = run("""
        p = pm.GetCurrentProject()
        root = p.GetMediaPool().GetRootFolder()
        d = [pm.GetProjectsInCurrentFolder(), pm.GetFoldersInCurrentFolder(), root.GetClips(),
             root.GetSubFolders(), p.GetTimelineByIndex(1).GetItemsInTrack("video", 1)]
        out = [[type(k).__name__ for k in x] for x in d] + [d[0][1.0]]
    """)
    assert out == [["float"], [], ["float"] * 3, ["float"], ["float"] * 2, "Cut"]  # 2 clips, 1 timeline
    assert len(state.misuse()) == 5
