"""Checkpoints in folders named by step, each with a manifest of checksums written last.

A checkpoint is complete exactly when its manifest is present and every file matches it; a
damaged one is set aside (renamed, never deleted), so a resume starts from the one before.
Knows nothing of TensorFlow: a checkpoint is written by a callable it is handed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from drawart.atomic import fsync_dir, sha256_file

CHECKPOINT_PATTERN = re.compile(r"^step-(\d+)$")
MANIFEST = "manifest.json"
CHECKPOINT_PREFIX = "ckpt"  # tf.train.Checkpoint writes ckpt.index and ckpt.data-*


def step_name(step: int) -> str:
    """Zero-padded so that files sort by step: step-0050000."""
    return f"step-{step:07d}"


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of every finished checkpoint in `folder`, oldest first."""
    found = []
    if folder.is_dir():
        for entry in folder.iterdir():
            match = CHECKPOINT_PATTERN.match(entry.name)
            if match and entry.is_dir():
                found.append((int(match.group(1)), entry))
    return sorted(found)


def save_checkpoint(folder: Path, step: int, write: Callable[[str], None]) -> Path:
    """Write a checkpoint through `write(prefix)` into a temporary folder, then rename it in.

    The manifest of checksums is written last, so a checkpoint is complete exactly when its
    manifest is present and every file matches it. An intact checkpoint is never replaced; a
    damaged one is renamed aside (never deleted) so the run heals instead of replaying forever.
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / step_name(step)
    if final.exists():
        if checkpoint_problem(final) is None:
            return final
        set_aside(final)
    tmp = folder / f".tmp-{step_name(step)}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(str(tmp / CHECKPOINT_PREFIX))
        files = sorted(p for p in tmp.iterdir() if p.is_file())
        for p in files:
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        manifest = {"step": step, "files": {p.name: sha256_file(p) for p in files}}
        with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(tmp)
        os.rename(tmp, final)
        fsync_dir(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def set_aside(path: Path) -> Path:
    """Rename a damaged checkpoint to `step-N.damaged[-k]`: out of every listing, kept for a look."""
    for k in range(1, 1000):
        aside = path.with_name(f"{path.name}.damaged" + (f"-{k}" if k > 1 else ""))
        if not aside.exists():
            os.rename(path, aside)
            return aside
    raise OSError(f"too many damaged copies of {path}")


def checkpoint_problem(path: Path) -> str | None:
    """Why the checkpoint at `path` cannot be trusted, or None when every file matches its manifest."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if not manifest["files"]:
            return "its manifest lists no files"
        for name, digest in manifest["files"].items():
            if sha256_file(path / name) != digest:
                return f"{name} does not match its checksum"
    except FileNotFoundError as err:
        return f"{Path(err.filename).name} is missing"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        return f"its manifest is unreadable ({type(err).__name__})"
    return None


def latest_good_checkpoint(folders: list[Path], warn: Callable[[str], None] | None = None) -> tuple[int, str] | None:
    """(step, prefix) of the newest checkpoint, across `folders`, whose files match their manifest."""
    warn = warn or (lambda message: print(message, file=sys.stderr))
    candidates = sorted((c for folder in folders for c in list_checkpoints(folder)), reverse=True)
    for step, path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            return step, str(path / CHECKPOINT_PREFIX)
        warn(f"warning: skipping checkpoint {path} ({problem}); using an earlier one")
    return None


def rotate_checkpoints(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints, and leftovers of interrupted writes.

    A checkpoint is renamed out of the listing before its files are deleted: a crash halfway
    through deleting must leave a leftover, not a checkpoint with files missing.
    """
    for _, path in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        doomed = path.with_name(f".tmp-rotated-{path.name}")
        try:
            os.rename(path, doomed)
            fsync_dir(folder)  # after a power cut too, the rename lands before any file is gone
        except OSError:
            continue  # tried again at the next rotation
        shutil.rmtree(doomed, ignore_errors=True)
    for leftover in folder.glob(".tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
