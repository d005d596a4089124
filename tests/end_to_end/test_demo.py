"""`make demo` (tools/demo.py) runs from a checkout: backups verified, one restored
beside its original, proxies of generated clips."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow   # the whole demo


def test_demo_backs_up_restores_and_encodes(rex_env, tmp_path):
    workdir = tmp_path / "demo"
    env = dict(rex_env)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "demo.py"), str(workdir)], env=env,
                            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    dumps = [os.path.join(d, n) for d, _s, names in os.walk(workdir / "backups") for n in names
             if n.endswith(".backup")]
    assert len(dumps) == 2 and all(os.path.exists(d + ".md5") for d in dumps)
    out = result.stdout.splitlines()
    assert "Commercials/Project 2" in out            # rex-restore --list-projects
    assert "Resolve Projects (restored)" in out      # rex-restore --as, and psql's listing
    proxies = [line.split("\t")[1] for line in out if "\t" in line]
    assert len(proxies) == 3 and all(p.endswith(".mov") and os.path.getsize(p) > 0 for p in proxies)
