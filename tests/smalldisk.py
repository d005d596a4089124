"""A small tmpfs for the full-disk tests (mounting needs root; the tests skip otherwise)."""

import contextlib
import os
import subprocess

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")


@contextlib.contextmanager
def small_disk(path, size="256k"):
    """A tmpfs of `size` mounted on the new directory `path`, unmounted on exit."""
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield str(path)
    finally:
        subprocess.run(["umount", "-l", str(path)])
