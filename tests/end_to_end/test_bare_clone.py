"""The test suite in a copy of the repository with no ../shared beside it, as someone
who clones the project runs it: everything collects, the tests that need a .drp run
on the simulator's own exports, and only the tests about the real Resolve exports
skip, naming the missing directory — or fail under CI=true."""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

# The tests that once read ../shared to get any .drp at all: they must now pass alone.
NEEDED_FIXTURES = [
    "tests/end_to_end/test_dedupe.py",
    "tests/end_to_end/test_restore.py::test_import_drp_with_a_new_name",
    "tests/end_to_end/test_restore.py::test_import_default_name_and_folder_keeps_the_user_where_they_were",
    "tests/end_to_end/test_restore.py::test_import_when_resolve_is_not_running_is_75",
    "tests/end_to_end/test_restore.py::test_import_of_a_corrupt_drp_is_65",
    "tests/end_to_end/test_restore.py::test_usage_errors",
    "tests/end_to_end/test_verify.py::test_symlinked_backup_verifies_through_its_target",
    "tests/end_to_end/test_verify.py::test_resolve_exports_verify_and_damage_is_caught",
]
# The tests about the real exports themselves (with every simulator parameter beside them).
ABOUT_REAL = {
    "tests/end_to_end/test_dedupe.py::test_unchanged_reexports_become_relative_links_to_the_earliest[real-fixtures]",
    "tests/end_to_end/test_verify.py::test_resolve_exports_verify_and_damage_is_caught[real-fixtures]",
    "tests/unit/backups/test_drp.py::test_reexports_of_an_unchanged_project_have_the_same_digest[real-fixtures]",
    "tests/unit/backups/test_drp.py::test_the_real_fixtures_differ",
    "tests/unit/test_resolve_sim.py::test_imports_real_resolve_exports",
    "tests/unit/test_sim_drp.py::test_the_simulators_exports_are_shaped_like_resolves",
}
SELECTED = NEEDED_FIXTURES + sorted({n.split("[")[0] for n in ABOUT_REAL})


def copy_repository(dst):
    """The files git knows (tracked, or new and not ignored), as a clone of this tree has them."""
    listed = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: " + listed.stderr.decode(errors="replace").strip())
    for name in filter(None, listed.stdout.decode().split("\0")):
        src = os.path.join(ROOT, name)
        if os.path.isfile(src):          # not yet committed deletions are gone from a clone too
            os.makedirs(os.path.dirname(os.path.join(dst, name)), exist_ok=True)
            shutil.copy2(src, os.path.join(dst, name))


def pytest_in(repo, *args, ci=False):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "REX_DRP_FIXTURES") and not k.startswith("PYTEST_")}
    env.update(PYTHONDONTWRITEBYTECODE="1", **({"CI": "true"} if ci else {}))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=repo, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1800)


def outcomes(report):
    """{node id: (outcome, message)} from a JUnit XML report."""
    out = {}
    for case in ET.parse(report).iter("testcase"):
        node = case.get("classname").replace(".", "/") + ".py::" + case.get("name")
        found = [(k.tag, k.get("message") or "") for k in case if k.tag in ("skipped", "failure", "error")]
        out[node] = found[0] if found else ("passed", "")
    return out


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """A copy of the repository in a directory with no shared/ beside it; (repo, missing fixtures dir)."""
    parent = tmp_path_factory.mktemp("alone")
    repo = parent / "rex"
    copy_repository(repo)
    assert not (parent / "shared").exists()
    return repo, str(parent / "shared" / "fixtures" / "drp")


def test_the_whole_suite_collects_without_shared(alone):
    repo, _missing = alone
    result = pytest_in(repo, "--collect-only", "-q")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ tests collected in [0-9.]+s", summary), summary


def test_without_shared_only_the_tests_about_real_exports_skip_naming_the_directory(alone):
    repo, missing = alone
    result = pytest_in(repo, "-q", "-k", "not kill_9", "--junitxml", str(repo / "alone.xml"), *SELECTED)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    seen = outcomes(repo / "alone.xml")
    skipped = {n for n, (outcome, _m) in seen.items() if outcome == "skipped"}
    assert skipped == ABOUT_REAL, result.stdout[-3000:]
    assert all(missing in seen[n][1] for n in skipped), [seen[n] for n in skipped]
    assert {o for n, (o, _m) in seen.items() if n not in skipped} == {"passed"}
    assert len(seen) > len(ABOUT_REAL) + len(NEEDED_FIXTURES)      # every simulator case ran


def test_under_ci_the_tests_about_real_exports_fail_instead(alone):
    repo, missing = alone
    result = pytest_in(repo, "-q", "--junitxml", str(repo / "ci.xml"), *sorted(ABOUT_REAL), ci=True)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    seen = outcomes(repo / "ci.xml")
    assert set(seen) == ABOUT_REAL
    for node, (outcome, message) in seen.items():
        assert outcome == "failure" and missing in message and "CI=true" in message, (node, outcome, message)
