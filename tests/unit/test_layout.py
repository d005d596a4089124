"""The project's wiring: every command is installed, documented and starts fast."""

import configparser
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMANDS = sorted(os.listdir(os.path.join(ROOT, "bin")))


def test_setup_cfg_installs_every_command():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    scripts = sorted(os.path.basename(s) for s in cfg["options"]["scripts"].split())
    assert scripts == COMMANDS


def test_every_command_has_a_man_page_and_a_readme_line():
    readme = open(os.path.join(ROOT, "README.md")).read()
    for name in COMMANDS:
        assert os.path.exists(os.path.join(ROOT, "man", f"{name}.1")), name
        assert f"`{name}`" in readme, name


def test_help_does_not_import_heavy_modules():
    """--help must not pull in ruamel.yaml, sqlite3, the pg or resolve layers (start-up speed)."""
    for name in COMMANDS:
        code = (f"import sys, runpy; sys.argv = ['{name}', '--help']\n"
                f"try:\n    runpy.run_path('{os.path.join(ROOT, 'bin', name)}', run_name='__main__')\n"
                "except SystemExit:\n    pass\n"
                "heavy = [m for m in ('ruamel.yaml', 'sqlite3', 'rex.pg.dump', 'rex.backups.pgdump', "
                "'rex.resolve.api', 'zipfile', 'concurrent.futures') if m in sys.modules]\n"
                "sys.stderr.write(repr(heavy))")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.stderr.strip().endswith("[]"), (name, result.stderr[-300:])
