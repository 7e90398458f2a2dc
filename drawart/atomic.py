"""Files written whole or not at all: a temporary name, then a rename, then the folder synced.

A crash never leaves a half-written file where a reader will look. A render keeps beside it a
hidden record of the options that made it (`write_with_record`), so it is never redone needlessly.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never half."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def record_path(path: Path) -> Path:
    """Where the record of what made an output file lies: beside it, hidden so the folder lists
    pictures only: `.step-0005000.gif.json`."""
    return path.with_name(f".{path.name}.json")


def write_with_record(path: Path, data: bytes, record: dict) -> None:
    """Write an output file and, first, the record of what made it, each atomically.

    Record first: a crash between the two leaves a record without its file, which is simply
    made again, never a file whose record is missing or says something else.
    """
    atomic_write_bytes(record_path(path), (json.dumps(record, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    atomic_write_bytes(path, data)


def read_record(path: Path) -> dict | None:
    """The record beside an output file, or None when there is none or it cannot be read."""
    try:
        record = json.loads(record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
