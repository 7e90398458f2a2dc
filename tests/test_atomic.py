"""drawart.atomic: a file is written whole or not at all, the old one kept when a write fails."""

import pytest

from drawart import atomic
from drawart.atomic import atomic_write_bytes


def test_atomic_write_bytes_writes_and_replaces(tmp_path):
    target = tmp_path / "file.json"
    atomic_write_bytes(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write_bytes(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.json"]


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_atomic_write_bytes_failure_keeps_old_file(tmp_path, monkeypatch, failing):
    target = tmp_path / "file.json"
    atomic_write_bytes(target, b"old content")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, failing, boom)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(target, b"new content that never lands")
    monkeypatch.undo()
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.json"]


def test_atomic_write_bytes_failure_on_new_file_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "new.json"

    def boom(*args, **kwargs):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"x")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Checkpoints
