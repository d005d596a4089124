"""rex.fsutil: atomic files, commit, leftovers of dead writers, job locks."""

import hashlib
import os
import subprocess
import sys
import time

import pytest

from rex import fsutil
from rex.errors import IOFailure, TempFail
from rex.fsutil import AtomicFile, clean_leftovers, commit, is_temp, job_lock, temp_path, write_atomic


def listing(directory):
    return sorted(os.listdir(directory))


def dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- temp names ----------------------------------------------------------------------------------

def test_temp_path_is_hidden_marked_beside_final_and_unique(tmp_path):
    final = str(tmp_path / "Resolve Projects_20260101T000000Z.backup")
    temps = {temp_path(final) for _ in range(50)}
    assert len(temps) == 50
    for temp in temps:
        assert os.path.dirname(temp) == str(tmp_path)
        name = os.path.basename(temp)
        assert name.startswith(".") and is_temp(name)
        assert f"{fsutil.TEMP_MARK}{os.getpid()}-" in name


@pytest.mark.parametrize("name", ["x.backup", ".hidden", "rex-tmp-1", "x.rex-tmp-1"])
def test_ordinary_names_are_not_temps(name):
    assert not is_temp(name)


# --- AtomicFile ----------------------------------------------------------------------------------

def test_atomic_file_writes_and_hashes(tmp_path):
    final = tmp_path / "out.backup"
    hasher = hashlib.md5()
    with AtomicFile(str(final), hasher=hasher) as out:
        out.write(b"hello ")
        assert not final.exists()       # nothing under the final name until the end
        out.write(b"world")
    assert final.read_bytes() == b"hello world"
    assert hasher.hexdigest() == hashlib.md5(b"hello world").hexdigest()
    assert listing(tmp_path) == ["out.backup"]
    assert final.stat().st_mode & 0o777 == 0o600


def test_atomic_file_exception_leaves_nothing(tmp_path):
    final = tmp_path / "out.backup"
    with pytest.raises(RuntimeError):
        with AtomicFile(str(final)) as out:
            out.write(b"partial data")
            raise RuntimeError("killed halfway")
    assert listing(tmp_path) == []


def test_atomic_file_exception_keeps_the_old_file(tmp_path):
    final = tmp_path / "out.backup"
    final.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with AtomicFile(str(final)) as out:
            out.write(b"new")
            raise KeyboardInterrupt
    assert final.read_bytes() == b"old"
    assert listing(tmp_path) == ["out.backup"]


def test_atomic_file_replaces_by_default(tmp_path):
    final = tmp_path / "f"
    final.write_bytes(b"old")
    write_atomic(str(final), "new")
    assert final.read_bytes() == b"new"
    assert listing(tmp_path) == ["f"]


def test_atomic_file_without_replace_refuses_and_cleans_up(tmp_path):
    final = tmp_path / "f"
    final.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        write_atomic(str(final), b"new", replace=False)
    assert final.read_bytes() == b"old"
    assert listing(tmp_path) == ["f"]


def test_commit_without_replace_refuses_to_overwrite(tmp_path):
    final = tmp_path / "final"
    final.write_bytes(b"keep me")
    temp = temp_path(str(final))
    with open(temp, "wb") as f:
        f.write(b"new")
    with pytest.raises(FileExistsError):
        commit(temp, str(final), replace=False)
    assert final.read_bytes() == b"keep me"
    assert os.path.exists(temp)   # the caller still owns its temporary file


def test_commit_without_replace_moves_when_free(tmp_path):
    final = tmp_path / "final"
    temp = temp_path(str(final))
    with open(temp, "wb") as f:
        f.write(b"new")
    commit(temp, str(final), replace=False)
    assert final.read_bytes() == b"new"
    assert listing(tmp_path) == ["final"]


def test_commit_refuses_a_dangling_symlink_too(tmp_path):
    final = tmp_path / "final"
    final.symlink_to(tmp_path / "nowhere")
    temp = temp_path(str(final))
    open(temp, "wb").close()
    with pytest.raises(FileExistsError):
        commit(temp, str(final), replace=False)
    assert os.path.islink(final)


def test_write_atomic_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(str(tmp_path / "public2"), b"x", mode=0o644)
    finally:
        os.umask(old)
    assert (tmp_path / "public2").stat().st_mode & 0o777 == 0o644


def test_killed_writer_leaves_no_final_file(tmp_path):
    """kill -9 in the middle of a write: only a temp remains, and the next run removes it."""
    final = tmp_path / "out.backup"
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[2])\n"
        "from rex.fsutil import AtomicFile\n"
        "with AtomicFile(sys.argv[1]) as out:\n"
        "    out.write(b'x' * 100000); out._file.flush(); print('ready', flush=True); time.sleep(60)\n"
    )
    lib = os.path.dirname(os.path.dirname(fsutil.__file__))
    proc = subprocess.Popen([sys.executable, "-c", code, str(final), lib], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.kill()
        proc.wait()
    finally:
        proc.stdout.close()
    names = listing(tmp_path)
    assert "out.backup" not in names
    assert len(names) == 1 and is_temp(names[0])
    assert clean_leftovers(str(tmp_path)) == [str(tmp_path / names[0])]
    assert listing(tmp_path) == []


# --- clean_leftovers ---------------------------------------------------------------------------

def _temp_for(directory, final_name, pid):
    name = f".{final_name}{fsutil.TEMP_MARK}{pid}-abcd1234"
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(b"leftover")
    return path


def test_clean_leftovers_removes_dead_keeps_live(tmp_path):
    d = str(tmp_path)
    dead = _temp_for(d, "a.backup", dead_pid())
    live = _temp_for(d, "b.backup", os.getppid())
    (tmp_path / "a.backup").write_bytes(b"real")
    (tmp_path / ".hidden").write_bytes(b"not ours")
    (tmp_path / f".weird{fsutil.TEMP_MARK}notapid-1").write_bytes(b"unparsable")
    removed = clean_leftovers(d)
    assert removed == [dead]
    assert os.path.exists(live)
    assert sorted(os.listdir(d)) == sorted(["a.backup", ".hidden", f".weird{fsutil.TEMP_MARK}notapid-1",
                                            os.path.basename(live)])


def test_clean_leftovers_missing_directory(tmp_path):
    assert clean_leftovers(str(tmp_path / "absent")) == []


# --- job_lock ------------------------------------------------------------------------------------

@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    return tmp_path / "state"


HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_job_lock_is_private_and_records_pid(state):
    with job_lock("pgdump-test", wait=0) as path:
        assert path == str(state / "rex" / "locks" / "pgdump-test.lock")
        assert open(path).read() == f"{os.getpid()}\n"
        assert os.stat(os.path.dirname(path)).st_mode & 0o077 == 0


def test_job_lock_second_holder_in_another_process_gives_tempfail(state):
    lock_file = state / "rex" / "locks" / "job.lock"
    lock_file.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_file)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        started = time.monotonic()
        with pytest.raises(TempFail) as info:
            with job_lock("job", wait=0.2):
                pytest.fail("got a lock that another process holds")
        elapsed = time.monotonic() - started
        assert info.value.code == 75
        assert str(lock_file) in info.value.message
        assert 0.2 <= elapsed < 5
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()
    # The holder is gone: the kernel released its lock.
    with job_lock("job", wait=0.2):
        pass


def test_job_lock_waits_for_a_holder_that_finishes(state):
    lock_file = state / "rex" / "locks" / "job.lock"
    lock_file.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.replace("sys.stdin.read()", "time.sleep(0.5)"),
                               str(lock_file)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        with job_lock("job", wait=20):
            assert holder.poll() is not None   # we only got it after the holder ended
    finally:
        holder.wait(timeout=10)
        holder.stdout.close()


def test_job_lock_is_released_on_exit(state):
    with job_lock("again", wait=0):
        pass
    with job_lock("again", wait=0):
        pass


def test_different_jobs_do_not_block_each_other(state):
    with job_lock("one", wait=0):
        with job_lock("two", wait=0):
            pass


# --- free space --------------------------------------------------------------------------------

def test_check_free(tmp_path):
    fsutil.check_free(str(tmp_path), 1, "a dump")
    fsutil.check_free(str(tmp_path), 0, "nothing")
    with pytest.raises(IOFailure) as info:
        fsutil.check_free(str(tmp_path), fsutil.free_bytes(str(tmp_path)) + 2 ** 50, "a dump")
    assert info.value.code == 74
