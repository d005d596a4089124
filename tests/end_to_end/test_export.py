"""rex-export through the command and the Resolve simulator: layout, hostile names,
Resolve unreachable, the user's project and folder left alone, database switching,
selection, exports that lie, unchanged projects, idle waiting, kill -9, the pipeline."""

import calendar
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile

import pytest

from conftest import BIN, SIM, SIM_LIB

from _rexsim import state  # noqa: E402

DB = "Local Database"
STAMPED = re.compile(r"^(?P<name>.+)_\d{8}T\d{6}Z\.drp$")


def root_of(env):
    return env["REX_BACKUP_ROOT"]


def lines(result, null=False):
    return [p for p in result.out.split("\0" if null else "\n") if p]


def all_files(directory):
    found = []
    for d, _dirs, files in os.walk(directory):
        found.extend(os.path.join(d, f) for f in files)
    return sorted(found)


def final_backups(directory):
    """Files under a final backup name (not hidden temporaries, not sidecars)."""
    return [f for f in all_files(directory)
            if not os.path.basename(f).startswith(".") and f.endswith(".drp")]


def temporaries(directory):
    return [f for f in all_files(directory) if os.path.basename(f).startswith(".")]


def md5sum_ok(path):
    result = subprocess.run(["md5sum", "-c", "--strict", os.path.basename(path) + ".md5"],
                            cwd=os.path.dirname(path), capture_output=True)
    return result.returncode == 0


def assert_good_backup(path):
    assert os.path.isfile(path) and not os.path.islink(path)
    assert md5sum_ok(path), path
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None and "project.xml" in z.namelist()


def current():
    snap = state.snapshot()
    return (snap["databases"][snap["current_db"]]["DbName"], list(snap["current_folder"]),
            snap["current_project"])


def edited_ago(seconds, *projects, db=DB):
    """The projects ((folder, name), ...) were last modified `seconds` ago. Dates are
    reported to the second, so only an export begun in a later second is known to hold
    the change: without this a project made and exported in one second is exported again."""
    for folder, name in projects:
        state.set_modified(db, folder, name, time.time() - seconds)


# --- the tree ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_full_tree_with_nested_folders_and_duplicate_names(run, sim):
    projects = [((), "Demo"), (("Jobs",), "Demo"), (("Jobs", "2026"), "Demo"),
                (("Jobs", "2026", "Spots"), "Demo"), (("Jobs", "2026"), "Feature Cut"), (("Archive",), "Old")]
    for folder, name in projects:
        state.add_project(DB, folder, name)
    result = run("rex-export", env=sim)
    assert result.returncode == 0, result.err
    out = lines(result)
    assert len(out) == len(set(out)) == len(projects)
    root = root_of(sim)
    expected = {os.path.join(DB, *folder, name) for folder, name in projects}
    got = set()
    for path in out:
        rel = os.path.relpath(path, root)
        directory, base = os.path.split(rel)
        m = STAMPED.match(base)
        assert m and m.group("name") == os.path.basename(directory), rel
        got.add(directory)
        assert_good_backup(path)
    assert got == expected
    assert sorted(final_backups(root)) == sorted(out)
    assert not temporaries(root)
    # JSON records say where each came from.
    result = run("rex-export", "--json", "--force", env=sim)
    assert result.returncode == 0, result.err
    rows = [json.loads(line) for line in lines(result)]
    assert {(r["database"], r["folder"], r["project"]) for r in rows} == \
        {(DB, "/".join(folder), name) for folder, name in projects}
    assert all(os.path.dirname(r["path"]).endswith(r["project"]) for r in rows)


HOSTILE = ["../../etc", "..", ".", "a/b", "a\\b", "line\nbreak", "tab\there", "Ünïcødé ✂ 東京",
           "CON", "con.txt", "nul", "-rf", ".hidden", "trailing. ", "50%", "%2F", "x" * 300, "a:b*c?\"<>|"]


@pytest.mark.slow
def test_hostile_names_never_escape_the_backup_root(run, sim, tmp_path):
    state.add_database("../../evil db", "Disk")
    for i, name in enumerate(HOSTILE):
        state.add_project(DB, (), name, sample=False)
        state.add_project(DB, ("../x", "a/b"), name, sample=False)
    state.add_project("../../evil db", ("..",), "..", sample=False)
    result = run("rex-export", "-0", "--all-databases", env=sim)
    assert result.returncode == 0, result.err
    out = lines(result, null=True)
    root = os.path.realpath(root_of(sim))
    assert len(out) == len(set(out)) == 2 * len(HOSTILE) + 1
    for path in out:
        assert os.path.commonpath([root, os.path.realpath(path)]) == root, path
        assert "\n" not in os.path.relpath(path, root)
        assert_good_backup(path)
    # Nothing anywhere else in the test's directory.
    outside = [f for f in all_files(tmp_path) if f.endswith((".drp", ".md5"))
               and os.path.commonpath([root, os.path.realpath(f)]) != root]
    assert outside == []
    assert sorted(final_backups(root)) == sorted(out)
    # Every project got its own directory, and the records carry the real names.
    assert len({os.path.dirname(p) for p in out}) == len(out)
    result = run("rex-export", "--json", "--all-databases", "--force", env=sim)
    assert result.returncode == 0, result.err
    rows = [json.loads(line) for line in lines(result)]
    assert sorted(r["project"] for r in rows if r["database"] == DB) == sorted(HOSTILE * 2)
    assert {r["folder"] for r in rows if r["database"] == DB} == {"", "../x/a/b"}


# --- Resolve unreachable ------------------------------------------------------------------------


def test_resolve_not_running_is_75_with_one_line(run, sim):
    state.add_project(DB, (), "Demo")
    state.set_running(False)
    result = run("rex-export", env=sim)
    assert result.returncode == 75
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "running" in result.err
    assert not os.path.exists(root_of(sim)) or not all_files(root_of(sim))


def test_scripting_disabled_is_75_naming_the_preference(run, sim):
    state.add_project(DB, (), "Demo")
    state.set_scripting("None")
    result = run("rex-export", env=sim)
    assert result.returncode == 75
    assert "External scripting" in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert result.out == ""


# --- finding Resolve's module (a loader that swaps in the native library) ----------------------


@pytest.mark.slow
def test_module_found_both_ways_resolves_scripts_find_it(run, sim):
    state.add_project(DB, (), "Demo")
    result = run("rex-export", env=sim)       # $RESOLVE_SCRIPT_API/Modules, $RESOLVE_SCRIPT_LIB
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 1
    on_path = {k: v for k, v in sim.items() if k != "RESOLVE_SCRIPT_API"}
    result = run("rex-export", "--force", env=dict(on_path, PYTHONPATH=os.path.join(SIM, "Modules")))
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 1
    # The loader's first choice: fusionscript itself importable, no RESOLVE_SCRIPT_LIB needed.
    native = {k: v for k, v in sim.items() if k != "RESOLVE_SCRIPT_LIB"}
    result = run("rex-export", "--force", env=dict(native, PYTHONPATH=os.path.dirname(SIM_LIB)))
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 1


@pytest.mark.parametrize("where", ["nowhere", "unset", "nowhere on PYTHONPATH"])
def test_native_library_that_does_not_load_is_69_naming_it(run, sim, tmp_path, where):
    state.add_project(DB, (), "Demo")
    env = {k: v for k, v in sim.items() if k != "RESOLVE_SCRIPT_LIB"}
    lib = str(tmp_path / "nowhere" / "fusionscript.so")
    if where != "unset":
        env["RESOLVE_SCRIPT_LIB"] = lib
    if where.endswith("PYTHONPATH"):
        del env["RESOLVE_SCRIPT_API"]
        env["PYTHONPATH"] = os.path.join(SIM, "Modules")
    result = run("rex-export", env=env)
    assert result.returncode == 69, result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "/opt/resolve/libs/Fusion/fusionscript.so" in result.err
    assert (lib in result.err) == (where != "unset"), result.err
    assert "RESOLVE_SCRIPT_LIB" in result.err
    assert result.out == "" and not os.path.exists(root_of(sim))


# --- the user's session -------------------------------------------------------------------------


@pytest.fixture
def two_libraries(sim):
    state.add_project(DB, (), "Demo")
    state.add_project(DB, ("Jobs",), "Demo")
    state.add_project(DB, ("Jobs", "Spots"), "Spot 1")
    state.add_database("facility")
    state.add_project("facility", (), "Feature")
    state.add_project("facility", ("Reels",), "Reel 1")
    return sim


@pytest.mark.slow
def test_export_while_a_project_is_open_keeps_it_and_the_folder(run, two_libraries):
    state.set_current(DB, ("Jobs", "Spots"), "Spot 1")
    before = current()
    result = run("rex-export", env=two_libraries)
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 3
    assert current() == before
    # The user moved to another folder meanwhile: that is where they stay.
    state.set_current(folder=("Jobs",))
    before = current()
    result = run("rex-export", "--force", env=two_libraries)
    assert result.returncode == 0, result.err
    assert current() == before == (DB, ["Jobs"], before[2]) and before[2]


@pytest.mark.slow
def test_database_switch_when_no_project_is_open(run, two_libraries):
    state.set_current(DB, ("Jobs",))
    result = run("rex-export", "--database", "facility", env=two_libraries)
    assert result.returncode == 0, result.err
    rels = sorted(os.path.relpath(p, root_of(two_libraries)) for p in lines(result))
    assert [os.path.dirname(r) for r in rels] == ["facility/Feature", "facility/Reels/Reel 1"]
    assert current() == (DB, ["Jobs"], None)


@pytest.mark.slow
def test_database_switch_refused_while_a_project_is_open(run, two_libraries):
    state.set_current(DB, ("Jobs",), "Demo")
    before = current()
    result = run("rex-export", "--database", "facility", env=two_libraries)
    assert result.returncode == 75
    assert "Demo" in result.err and result.out == ""
    assert current() == before
    assert not final_backups(root_of(two_libraries))
    # The open project's own library needs no switch.
    result = run("rex-export", "--database", DB, env=two_libraries)
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 3
    assert current() == before


@pytest.mark.slow
def test_all_databases(run, two_libraries):
    state.set_current(DB, ("Jobs", "Spots"))
    result = run("rex-export", "--all-databases", env=two_libraries)
    assert result.returncode == 0, result.err
    dbs = sorted(os.path.relpath(p, root_of(two_libraries)).split(os.sep)[0] for p in lines(result))
    assert dbs == [DB] * 3 + ["facility"] * 2
    assert current() == (DB, ["Jobs", "Spots"], None)
    state.set_current(project="Spot 1")
    before = current()
    result = run("rex-export", "--all-databases", "--force", env=two_libraries)
    assert result.returncode == 75
    assert current() == before


@pytest.mark.slow
def test_unknown_database_is_a_usage_error(run, two_libraries):
    result = run("rex-export", "--database", "nope", env=two_libraries)
    assert result.returncode == 64 and "nope" in result.err


@pytest.mark.slow
def test_folder_and_project_selection(run, two_libraries):
    env, root = two_libraries, root_of(two_libraries)

    def dirs(result):
        assert result.returncode == 0, result.err
        return sorted(os.path.dirname(os.path.relpath(p, root)) for p in lines(result))

    state.set_current(DB, ("Jobs",))
    assert dirs(run("rex-export", "--folder", "Jobs", env=env)) == [f"{DB}/Jobs/Demo", f"{DB}/Jobs/Spots/Spot 1"]
    assert dirs(run("rex-export", "--folder", "Jobs/Spots", "--force", env=env)) == [f"{DB}/Jobs/Spots/Spot 1"]
    assert dirs(run("rex-export", "--project", "D*", "--force", env=env)) == [f"{DB}/Demo", f"{DB}/Jobs/Demo"]
    assert dirs(run("rex-export", "--project", "Spot ?", "--project", "Nothing*", "--force", env=env)) == \
        [f"{DB}/Jobs/Spots/Spot 1"]
    assert dirs(run("rex-export", "--folder", "Jobs", "--project", "Demo", "--force", env=env)) == \
        [f"{DB}/Jobs/Demo"]
    assert dirs(run("rex-export", "--project", "zzz*", env=env)) == []
    assert current() == (DB, ["Jobs"], None)
    result = run("rex-export", "--folder", "Jobs/Missing", env=env)
    assert result.returncode == 64 and "Missing" in result.err
    assert current() == (DB, ["Jobs"], None)


@pytest.mark.slow
def test_stills_option_and_bad_durations(run, sim):
    state.add_project(DB, (), "Demo")

    def members(result):
        assert result.returncode == 0, result.err
        [path] = lines(result)
        with zipfile.ZipFile(path) as z:
            return z.namelist()

    assert "Gallery.xml" in members(run("rex-export", env=sim))
    assert "Gallery.xml" not in members(run("rex-export", "--force", "--no-stills", env=sim))
    assert "Gallery.xml" in members(run("rex-export", "--force", "--stills", env=sim))
    for option in ("--max-wait", "--countdown", "--lock-wait"):
        result = run("rex-export", option, "soon", env=sim)
        assert result.returncode == 64 and option in result.err, result.err


@pytest.mark.slow
def test_current_folder_is_a_bare_name_so_the_user_stays_in_the_right_one(run, sim):
    # GetCurrentFolder() answers "Jobs" in Jobs and in Jobs/Jobs alike: the path is Rex's to track.
    for folder in ((), ("Jobs",), ("Jobs", "Jobs"), ("Jobs", "Jobs", "Jobs")):
        state.add_project(DB, folder, "Demo")
    state.add_database("facility")
    state.add_project("facility", ("Jobs",), "Demo")
    state.set_current(DB, ("Jobs", "Jobs"))
    result = run("rex-export", "--all-databases", "--no-stills", env=sim)
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 5
    assert current() == (DB, ["Jobs", "Jobs"], None)
    result = run("rex-export", "--folder", "Jobs/Jobs", "--force", env=sim)
    assert result.returncode == 0, result.err
    assert sorted(os.path.relpath(os.path.dirname(p), root_of(sim)) for p in lines(result)) == \
        [f"{DB}/Jobs/Jobs/Demo", f"{DB}/Jobs/Jobs/Jobs/Demo"]
    assert current() == (DB, ["Jobs", "Jobs"], None)


@pytest.mark.slow
@pytest.mark.parametrize("version", [(21, 0, 2), (21, 0, 4)])
def test_only_calls_this_resolve_has_positional_and_not_deprecated(run, sim, version):
    # hasattr() is true for every name, a keyword or wrong-count call answers None/False,
    # and the deprecated dict calls key by floats: the simulator notes each such use.
    state.set_version(*version)
    state.add_project(DB, (), "Demo")
    state.add_project(DB, ("Jobs",), "Demo")
    result = run("rex-export", "--no-stills", env=sim)
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 2
    for path in lines(result):
        assert "Gallery.xml" not in zipfile.ZipFile(path).namelist()
    assert state.misuse() == []


# --- exports that lie -----------------------------------------------------------------------------

WRAPPER = '''\
"""A native library for the simulator that makes its export fail for some projects only."""
import os, sys
sys.path.insert(0, os.path.join({sim!r}, "Modules"))
from _rexsim import app, state
from _rexsim.app import scriptapp
FAIL = {fail!r}
_export = app.ProjectManager.ExportProject

def ExportProject(self, projectName, filePath, withStillsAndLUTs=True):
    mode = FAIL.get(projectName)
    if mode is None:
        return _export(self, projectName, filePath, withStillsAndLUTs)
    state.set_export_fails(mode)
    try:
        return _export(self, projectName, filePath, withStillsAndLUTs)
    finally:
        state.set_export_fails(None)

app.ProjectManager.ExportProject = ExportProject
'''


def failing_lib(tmp_path, fail):
    lib = tmp_path / "lib" / "fusionscript.py"
    lib.parent.mkdir(parents=True, exist_ok=True)
    lib.write_text(WRAPPER.format(sim=SIM, fail=fail))
    return str(lib)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["false", "nothing", "empty", "notzip", "truncated"])
def test_export_that_fails_or_lies_fails_only_that_project(run, sim, tmp_path, mode):
    for name in ("A first", "B broken", "C last"):
        state.add_project(DB, (), name)
        edited_ago(60, ((), name))
    env = dict(sim, RESOLVE_SCRIPT_LIB=failing_lib(tmp_path, {"B broken": mode}))
    result = run("rex-export", env=env)
    assert result.returncode == 1, result.err
    assert "B broken" in result.err
    root = root_of(sim)
    out = lines(result)
    assert sorted(os.path.basename(os.path.dirname(p)) for p in out) == ["A first", "C last"]
    for path in out:
        assert_good_backup(path)
    broken = os.path.join(root, DB, "B broken")
    assert not os.path.exists(broken) or all_files(broken) == []
    assert sorted(final_backups(root)) == sorted(out)
    assert not temporaries(root)
    # Once Resolve behaves, the next run exports it (it was never recorded as done).
    result = run("rex-export", env=sim)
    assert result.returncode == 0, result.err
    assert [os.path.basename(os.path.dirname(p)) for p in lines(result)] == ["B broken"]
    assert_good_backup(lines(result)[0])


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["false", "nothing", "empty", "notzip", "truncated"])
def test_every_export_failing_is_1_and_leaves_nothing(run, sim, mode):
    state.add_project(DB, (), "Demo")
    state.add_project(DB, ("Jobs",), "Demo")
    state.set_export_fails(mode)
    result = run("rex-export", env=sim)
    assert result.returncode == 1
    assert result.out == ""
    assert result.err.count("Demo") >= 2
    assert all_files(root_of(sim)) == [] if os.path.exists(root_of(sim)) else True


# --- unchanged projects ---------------------------------------------------------------------------


@pytest.mark.slow
def test_unchanged_projects_are_skipped_from_21_0_3(run, sim):
    state.set_version(21, 0, 4)
    state.add_project(DB, (), "Demo")
    state.add_project(DB, ("Jobs",), "Demo")
    state.add_project(DB, ("Jobs",), "Other")
    edited_ago(60, ((), "Demo"), (("Jobs",), "Demo"), (("Jobs",), "Other"))
    first = run("rex-export", env=sim)
    assert first.returncode == 0, first.err
    assert len(lines(first)) == 3
    second = run("rex-export", "-v", env=sim)
    assert second.returncode == 0, second.err
    assert lines(second) == []
    assert "unchanged" in second.err
    time.sleep(1.1)   # the library reports modification times to the second
    state.set_setting(DB, ("Jobs",), "Demo", "timelineFrameRate", "25")
    third = run("rex-export", env=sim)
    assert third.returncode == 0, third.err
    assert [os.path.relpath(os.path.dirname(p), root_of(sim)) for p in lines(third)] == [f"{DB}/Jobs/Demo"]
    assert_good_backup(lines(third)[0])
    # --force exports everything; a deleted last export is exported again.
    time.sleep(1.05)   # after the second of the edit
    assert len(lines(run("rex-export", "--force", env=sim))) == 3
    gone = lines(first)[0]
    for path in [p for p in final_backups(os.path.dirname(gone))]:
        os.unlink(path)
        os.unlink(path + ".md5")
    again = run("rex-export", env=sim)
    assert [os.path.dirname(p) for p in lines(again)] == [os.path.dirname(gone)]


@pytest.mark.slow
def test_before_21_0_3_every_run_exports(run, sim):
    state.set_version(21, 0, 2)
    state.add_project(DB, (), "Demo")
    assert len(lines(run("rex-export", env=sim))) == 1
    again = run("rex-export", env=sim)
    assert again.returncode == 0, again.err
    assert len(lines(again)) == 1
    assert len(final_backups(root_of(sim))) == 2


# --- the backup tree decides when the ledger cannot ---------------------------------------------

THREE = (((), "Demo"), (("Jobs",), "Demo"), (("Jobs",), "Other"))


def add_three(age=3600):
    for folder, name in THREE:
        state.add_project(DB, folder, name)
    edited_ago(age, *THREE)


def exported(result, env):
    assert result.returncode == 0, result.err
    return sorted(os.path.relpath(os.path.dirname(p), root_of(env)) for p in lines(result))


def lose_state(env):
    shutil.rmtree(env["XDG_STATE_HOME"])


# The forms the simulator can report dates in, each in a zone where reading local time
# as UTC (or the other way round) would misjudge which project changed.
@pytest.mark.slow
@pytest.mark.parametrize("form,tz", [("iso", "EST+5"), ("iso", "IST-5:30"), ("local", "EST+5"),
                                     ("local", "IST-5:30"), ("epoch", "UTC0")])
def test_upgrade_to_21_0_4_exports_only_the_project_edited_since_its_backup(run, sim, form, tz):
    env = dict(sim, TZ=tz)
    state.set_version(21, 0, 2)
    state.set_date_format(form)
    add_three()
    assert len(exported(run("rex-export", env=env), env)) == 3
    state.set_version(21, 0, 4)        # now Resolve reports modification dates; the ledger has none
    state.set_setting(DB, ("Jobs",), "Demo", "timelineFrameRate", "25")
    dry = run("rex-export", "-n", env=env)
    assert dry.returncode == 0 and dry.out == "", dry.err
    assert [line for line in dry.err.splitlines() if "would export" in line] == \
        [f"rex-export: would export {DB}/Jobs/Demo"]
    assert exported(run("rex-export", env=env), env) == [f"{DB}/Jobs/Demo"]


@pytest.mark.slow
def test_lost_state_directory_exports_nothing_unchanged(run, sim):
    state.set_version(21, 0, 4)
    add_three()
    first = run("rex-export", env=sim)
    assert len(exported(first, sim)) == 3
    lose_state(sim)
    second = run("rex-export", "-v", env=sim)
    assert exported(second, sim) == []
    for path in lines(first):      # each named with the backup that proved it
        assert f"unchanged since {os.path.basename(path)}" in second.err
    # What the tree proved is in the ledger again: the next run does not read the tree.
    third = run("rex-export", "-v", env=sim)
    assert exported(third, sim) == []
    assert third.err.count("unchanged since its last export") == 3
    # --force still exports every project.
    assert len(exported(run("rex-export", "--force", env=sim), sim)) == 3
    assert len(final_backups(root_of(sim))) == 6


def flip_a_byte(path):
    with open(path, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))


def no_sidecar(path):
    os.unlink(path + ".md5")


def dangling(path):
    os.unlink(path)
    os.symlink("gone.drp", path)


@pytest.mark.slow
@pytest.mark.parametrize("damage", [flip_a_byte, no_sidecar, dangling])
def test_damaged_newest_backup_is_exported_again(run, sim, damage):
    add_three()
    first = run("rex-export", env=sim)
    assert len(exported(first, sim)) == 3
    newest = lines(run("rex-export", "--force", env=sim))     # a later stamp than the first
    assert len(newest) == 3 and not set(newest) & set(lines(first))
    [damaged] = [p for p in newest if os.path.relpath(p, root_of(sim)).startswith(f"{DB}/Jobs/Other/")]
    damage(damaged)
    lose_state(sim)
    again = run("rex-export", env=sim)
    assert exported(again, sim) == [f"{DB}/Jobs/Other"]
    assert_good_backup(lines(again)[0])
    assert damaged in again.err and len(again.err.strip().splitlines()) == 1, again.err


@pytest.mark.slow
def test_dedupe_link_is_a_good_backup_with_its_own_stamp(run, sim):
    state.add_project(DB, (), "Demo")
    edited_ago(3600, ((), "Demo"))
    [real] = lines(pipeline(sim))
    time.sleep(1.05)
    # Saved again without a change of content, after the first backup began.
    stamp = os.path.basename(real)[-20:-4]
    state.set_modified(DB, (), "Demo", calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ")) + 0.5)
    second = pipeline(sim)
    [link] = lines(second)
    assert os.path.islink(link) and os.path.realpath(link) == real, second.err
    lose_state(sim)
    # The link's stamp is after the save, the real file's is not: the link proves it.
    assert exported(run("rex-export", env=sim), sim) == []


@pytest.mark.slow
def test_unreadable_date_is_exported_with_one_warning(run, sim):
    state.set_date_format("sometime last week")
    add_three()
    for _ in range(2):
        result = run("rex-export", env=sim)
        assert len(exported(result, sim)) == 3
        warnings = result.err.strip().splitlines()
        assert len(warnings) == 1 and "sometime last week" in warnings[0], result.err


# --- idle waiting ---------------------------------------------------------------------------------


@pytest.fixture
def idle_source(tmp_path):
    """A fake idle source: a script printing the milliseconds written in a file."""
    value = tmp_path / "idle-ms"
    value.write_text("0\n")
    script = tmp_path / "fake-idle"
    script.write_text(f"#!/bin/sh\ncat '{value}'\n")
    script.chmod(0o755)
    return str(script), value


@pytest.mark.slow
@pytest.mark.parametrize("on_timeout,exported", [("skip", 0), ("export", 1)])
def test_active_user_until_max_wait(run, sim, idle_source, on_timeout, exported):
    script, _value = idle_source
    state.add_project(DB, (), "Demo")
    started = time.monotonic()
    result = run("rex-export", "--idle", "0.01", "--max-wait", "2s", "--on-timeout", on_timeout,
                 "--countdown", "0", "--idle-command", script, env=sim)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.err
    assert len(lines(result)) == exported
    assert len(final_backups(root_of(sim)) if os.path.exists(root_of(sim)) else []) == exported
    assert elapsed >= 1.5   # it did wait (bounded by --max-wait, not by the idle minimum)
    if not exported:
        assert "skip" in result.err


@pytest.mark.slow
def test_idle_user_exports_at_once_and_waiting_ends_when_idle(run, sim, idle_source):
    script, value = idle_source
    state.add_project(DB, (), "Demo")
    value.write_text("600000\n")
    result = run("rex-export", "--idle", "0.01", "--max-wait", "2s", "--on-timeout", "skip",
                 "--countdown", "0", "--idle-command", script, env=sim)
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 1
    # Active at first, idle a moment later: exported before --max-wait.
    value.write_text("0\n")
    timer = threading.Timer(0.7, lambda: value.write_text("900\n"))
    timer.start()
    try:
        started = time.monotonic()
        result = run("rex-export", "--force", "--idle", "0.01", "--max-wait", "20s", "--on-timeout", "skip",
                     "--countdown", "0", "--idle-command", script, env=sim)
        elapsed = time.monotonic() - started
    finally:
        timer.cancel()
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 1
    assert elapsed < 15


@pytest.mark.slow
def test_nothing_changed_means_no_wait_for_the_user(run, sim, idle_source):
    script, _value = idle_source       # the user stays active
    state.add_project(DB, (), "Demo")
    edited_ago(3600, ((), "Demo"))
    assert len(lines(run("rex-export", env=sim))) == 1
    started = time.monotonic()
    result = run("rex-export", "--idle", "0.01", "--max-wait", "20s", "--on-timeout", "skip",
                 "--countdown", "0", "--idle-command", script, env=sim)
    assert result.returncode == 0 and result.out == "", result.err
    assert time.monotonic() - started < 10
    assert "skip" not in result.err


# --- kill -9 ----------------------------------------------------------------------------------------


def spawn(args, env):
    return subprocess.Popen([sys.executable, os.path.join(BIN, "rex-export"), *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_kill_9_during_a_slow_export(run, sim):
    state.add_project(DB, (), "Demo")
    state.add_project(DB, ("Jobs",), "Slow")
    state.set_export_delay(30)
    root = root_of(sim)
    proc = spawn([], sim)
    try:
        assert wait_for(lambda: os.path.exists(root) and temporaries(root)), "no partial export appeared"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert temporaries(root)             # Resolve's partial file was there ...
    assert final_backups(root) == []     # ... but never under a final name
    assert [f for f in all_files(root) if f.endswith(".md5")] == []
    state.set_export_delay(0)
    result = run("rex-export", env=sim)
    assert result.returncode == 0, result.err
    assert len(lines(result)) == 2
    for path in lines(result):
        assert_good_backup(path)
    assert temporaries(root) == []
    assert sorted(final_backups(root)) == sorted(lines(result))


@pytest.mark.slow
def test_kill_9_at_random_times_never_leaves_a_partial_backup(run, sim):
    for i in range(4):
        state.add_project(DB, ("F%d" % i,), "P%d" % i)
    state.set_export_delay(0.15)
    root = root_of(sim)
    rng = random.Random(1234)
    for _ in range(6):
        proc = spawn(["--force"], sim)
        time.sleep(rng.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        for path in final_backups(root):
            assert_good_backup(path)
    state.set_export_delay(0)
    result = run("rex-export", "--force", env=sim)
    assert result.returncode == 0, result.err
    assert temporaries(root) == []
    for path in final_backups(root):
        assert_good_backup(path)
    orphans = [f for f in all_files(root) if f.endswith(".md5") and not os.path.exists(f[:-4])]
    assert orphans == []


# --- the pipeline -------------------------------------------------------------------------------------


def pipeline(env, export_args=""):
    py = sys.executable
    cmd = (f"'{py}' '{BIN}/rex-export' {export_args} | '{py}' '{BIN}/rex-verify' | "
           f"'{py}' '{BIN}/rex-dedupe' -v")
    result = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=120)
    result.out, result.err = result.stdout.decode(), result.stderr.decode()
    return result


@pytest.mark.slow
def test_export_verify_dedupe_pipeline(sim):
    state.add_project(DB, (), "Demo")
    state.add_project(DB, ("Jobs",), "Demo")
    first = pipeline(sim)
    assert first.returncode == 0, first.err
    assert len(lines(first)) == 2
    time.sleep(1.05)    # a new stamp
    second = pipeline(sim, "--force")
    assert second.returncode == 0, second.err
    assert len(lines(second)) == 2
    for new in lines(second):
        assert os.path.islink(new) and not os.path.isabs(os.readlink(new))
        assert os.path.realpath(new) in lines(first)
        assert md5sum_ok(new)
    assert "saved" in second.err
    time.sleep(1.05)
    state.set_setting(DB, ("Jobs",), "Demo", "timelineFrameRate", "30")
    third = pipeline(sim)
    assert third.returncode == 0, third.err
    [changed] = lines(third)
    assert not os.path.islink(changed) and md5sum_ok(changed)
    # A failure upstream is the pipeline's status.
    state.set_running(False)
    down = pipeline(sim, "--force")
    assert down.returncode == 75 and down.out == ""
