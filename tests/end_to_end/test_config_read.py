"""What a configuration read accepts: a regular file of sane size. Anything else is
refused at once with 78 and one line naming it, never read without end or waited on."""

import os
import resource

import pytest

NOT_FILES = {
    "/dev/zero": "a device",
    "a directory": "a directory",
    "a FIFO": "a FIFO",
}


def _operand(kind, tmp_path):
    if kind == "a directory":
        return str(tmp_path)
    if kind == "a FIFO":
        fifo = tmp_path / "rex.yaml"
        os.mkfifo(fifo)          # no writer: reading it in the ordinary way would wait forever
        return str(fifo)
    return kind


def _limited():
    """The child may use at most 512 MiB: reading /dev/zero whole would fail, not the host."""
    resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))


@pytest.mark.parametrize("kind", sorted(NOT_FILES))
@pytest.mark.parametrize("how", ["check", "-c"])
def test_a_config_that_is_not_a_regular_file_is_78_at_once(run, rex_env, tmp_path, kind, how):
    path = _operand(kind, tmp_path)
    if how == "check":
        result = run("rex-config", "check", path, env=rex_env, timeout=20, preexec_fn=_limited)
    else:
        result = run("rex-verify", "-c", path, str(tmp_path / "none.backup"), env=rex_env, timeout=20,
                     preexec_fn=_limited)
    assert result.returncode == 78, result.err
    assert result.err.count("\n") == 1 and path in result.err and NOT_FILES[kind] in result.err


@pytest.mark.slow
def test_a_config_larger_than_a_mebibyte_is_78(run, rex_env, tmp_path):
    big = tmp_path / "rex.yaml"
    big.write_bytes(b"# padding\n" * 110_000)     # valid YAML, 1.1 MB of comments
    result = run("rex-config", "check", str(big), env=rex_env)
    assert result.returncode == 78 and "larger than 1 MiB" in result.err and str(big) in result.err
    big.write_bytes(b"# padding\n" * 100_000)     # 1,000,000 bytes: still taken
    assert run("rex-config", "check", str(big), env=rex_env).returncode == 0
