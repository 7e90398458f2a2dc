"""The run's metrics files: CSV rows appended across resumes, a row cut short by a crash dropped."""

from __future__ import annotations

import os
from pathlib import Path

METRICS_COLUMNS = ("step", "loss", "recon", "kl", "psnr", "seconds")
VALIDATION_COLUMNS = ("step", "bound", "recon", "kl")  # nats per held-out image


def last_metrics_step(path: Path) -> int:
    """The step of the last complete row in metrics.csv (0 if none), trimming a half-written row."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        # A crash mid-row: drop the fragment so the next row starts on a line of its own.
        cut = data.rfind(b"\n") + 1
        with open(path, "r+b") as f:
            f.truncate(cut)
        data = data[:cut]
    for line in reversed(data.decode("utf-8", errors="replace").splitlines()):
        head = line.split(",", 1)[0]
        if head.isdigit():
            return int(head)
    return 0


def last_metrics_row(path: Path, columns: tuple[str, ...] = METRICS_COLUMNS) -> dict | None:
    """The last complete row of metrics.csv (or another log of `columns`) as {column: number}, or
    None; read-only (for `info`)."""
    rows = metrics_rows(path, columns)
    return rows[-1] if rows else None


def metrics_rows(path: Path, columns: tuple[str, ...] = METRICS_COLUMNS) -> list[dict]:
    """Every complete row of metrics.csv (or another log of `columns`) as {column: number}, in file
    order; read-only. A row cut short by a crash, or unreadable, is left out."""
    try:
        lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")[:-1]  # a fragment has no \n
    except OSError:
        return []
    rows = []
    for line in lines:
        values = line.split(",")
        if len(values) == len(columns) and values[0].isdigit():
            try:
                rows.append({"step": int(values[0]), **{c: float(v) for c, v in zip(columns[1:], values[1:])}})
            except ValueError:
                continue
    return rows


def disk_usage(path: Path) -> int:
    """Bytes of all files below `path`."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file() and not p.is_symlink())


def append_metrics(path: Path, row: dict, columns: tuple[str, ...] = METRICS_COLUMNS) -> None:
    """Append one row (writing the header first in a new file) and flush it to disk."""
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", encoding="utf-8") as f:
        if new:
            f.write(",".join(columns) + "\n")
        f.write(",".join(_format_metric(row[c]) for c in columns) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _format_metric(value) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value))
