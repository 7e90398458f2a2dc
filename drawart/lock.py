"""The run's lock: one process trains a run at a time."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from drawart.errors import RunError


class RunLock:
    """One writer per run. flock is released by the kernel when its process dies: no stale locks.

    The holder deletes the file as it leaves, while still holding it; so a process that opened
    the file just before may lock a file no longer in the run, and must check that it locked the
    one at the path (else it tries again).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = None

    def __enter__(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise RunError(f"cannot create the lock file {self.path} ({err.strerror}): choose another --out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunError(
                f"{self.path.parent} is being trained by process {owner}: wait for it or stop it first"
            ) from None
        if not self._still_at_path(fd):  # its holder deleted it as we opened it: lock the new one
            os.close(fd)
            return self.__enter__()
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def _still_at_path(self, fd: int) -> bool:
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            return False

    def __exit__(self, *exc):
        try:
            self.path.unlink()  # before the unlock: see the class docstring
        except OSError:
            pass  # a read-only folder keeps an unlocked file, which blocks nobody
        os.close(self._fd)
        self._fd = None
