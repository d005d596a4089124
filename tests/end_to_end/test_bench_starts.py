"""The benchmarks are not run by the tests (timings are never asserted), but `make bench`
must start: every bench module compiles and bench/run.py answers --help naming each bench."""

import glob
import os
import py_compile
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "bench", "*.py"))), ids=os.path.basename)
def test_bench_module_compiles(path, tmp_path):
    py_compile.compile(path, cfile=str(tmp_path / "out.pyc"), doraise=True)


def test_bench_run_help_names_every_bench():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in ("pgdump", "verify", "startup", "proxy-encode", "standby", "web", "farm"):
        assert name in result.stdout, name
