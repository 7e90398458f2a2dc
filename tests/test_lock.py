"""drawart.lock: one process trains a run; a dead holder blocks nobody; no lock file after a clean exit."""

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import assert_one_line

from drawart.errors import RunError
from drawart.lock import RunLock
from drawart.run import RunDir


def test_lock_is_exclusive_and_released(tmp_path):
    run = RunDir(tmp_path)
    with run.lock():
        assert (tmp_path / "lock").read_text() == str(os.getpid())
        with pytest.raises(RunError) as err:
            with run.lock():
                pass
        message = assert_one_line(err)
        assert str(os.getpid()) in message
    with run.lock():  # released: can be taken again
        pass
    assert not (tmp_path / "lock").exists()  # a clean exit leaves no lock file behind


def test_a_lock_file_deleted_by_its_leaving_holder_is_not_the_lock(tmp_path):
    lock = RunLock(tmp_path / "lock")
    fd = os.open(lock.path, os.O_RDWR | os.O_CREAT)
    try:
        assert lock._still_at_path(fd)
        os.unlink(lock.path)  # as a holder does on leaving, after we opened it
        assert not lock._still_at_path(fd)
        lock.path.write_text("")  # and the next process made a new one
        assert not lock._still_at_path(fd)
    finally:
        os.close(fd)


def test_lock_replaces_a_stale_owner(tmp_path):
    (tmp_path / "lock").write_text("123456789012345 stale")
    with RunDir(tmp_path).lock():
        assert (tmp_path / "lock").read_text() == str(os.getpid())


def test_lock_of_a_dead_process_is_free(tmp_path):
    code = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from drawart.lock import RunLock
        RunLock(Path({str(tmp_path / "lock")!r})).__enter__()
        print(os.getpid(), flush=True)
        os._exit(0)  # dies holding the lock: no __exit__
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    dead_pid = done.stdout.strip()
    assert (tmp_path / "lock").read_text() == dead_pid
    with RunDir(tmp_path).lock():
        assert (tmp_path / "lock").read_text() == str(os.getpid())


def test_lock_held_by_another_process(tmp_path):
    code = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from drawart.lock import RunLock
        with RunLock(Path({str(tmp_path / "lock")!r})):
            print(os.getpid(), flush=True)
            sys.stdin.read()  # hold until the parent closes stdin
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = holder.stdout.readline().strip()
        assert pid == str(holder.pid)
        with pytest.raises(RunError) as err:
            with RunLock(tmp_path / "lock"):
                pass
        assert f"process {pid}" in assert_one_line(err)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    with RunLock(tmp_path / "lock"):
        pass


def test_lock_in_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(RunError, match="lock file") as err:
        with RunLock(tmp_path / "missing" / "lock"):
            pass
    assert_one_line(err)
