"""What the bench scripts share: where the repository and the photos are, finding a photo by name,
running a measurement in a fresh Python, the data of one call of a model's compiled train function,
what a new `fit` would start with and the rate of a real `fit`; and the C heap as `drawart fit` sets it (heap.py), set on import.

A script in bench/ imports this as `from common import ...`: Python puts a script's own folder
first on its path, and drawart comes from its installation (`pip install -e .`), so no script
edits `sys.path`. To bench another commit, run its bench/ with PYTHONPATH set to its worktree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drawart import heap

# As `drawart fit` starts (tflogs.start_tensorflow): before any bench imports TensorFlow.
heap.widen_pad()

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"  # the photos this repository may use (CC0 / public domain)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def every_photo() -> list[str]:
    """The photos of ../shared/data, by name."""
    return sorted(p.stem for p in DATA.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def photo_path(name: str) -> Path | None:
    """NAME as an image file if it is one, else examples/NAME.*, else ../shared/data/NAME.* (None
    when none is there), so the benches also run from a checkout with no ../shared beside it."""
    if Path(name).suffix and Path(name).is_file():
        return Path(name).resolve()
    for folder in (ROOT / "examples", DATA):
        found = sorted(p for p in folder.glob(f"{name}.*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if found:
            return found[0]
    return None


def check_photos(parser, photos) -> None:
    """Refuse, before any training, a photo that is not found (not after an hour of the others)."""
    missing = [name for name in photos if photo_path(name) is None]
    if missing:
        parser.error(
            f"no photo {', '.join(missing)}: give names in examples/ or ../shared/data/, or paths to image files"
        )


def child_rows(script: str, arguments: list, what: str) -> list[dict]:
    """Run `script --child ARGUMENTS` in a fresh Python (so each run gets a clean TensorFlow) and
    return the JSON objects it printed, one a line; a failed child raises with its last words."""
    out = subprocess.run([sys.executable, script, "--child", *map(str, arguments)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-2000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def call_data(pixels, steps: int) -> tuple:
    """One call's data for a model's train function (`model.train_function(iter([data]))`): `steps`
    optimiser steps on one noise sample of `pixels` (H, W, C) each. Imports TensorFlow."""
    import numpy as np
    import tensorflow as tf

    return tf.constant(steps), tf.constant(np.broadcast_to(pixels, (steps, 1, *pixels.shape)).copy())


def planned(photo: Path, size: int, batch: int = 1):
    """(pixels, RunConfig) that `drawart fit PHOTO --size SIZE --batch BATCH` would start a new run
    with, size-aware defaults included; nothing is written."""
    import tempfile

    from drawart.fit_plan import plan_fit

    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_fit(photo, Path(tmp) / "run", size=size, train={"batch": batch})
    return plan.pixels, plan.config


def fit_rows(pixels, config, look=None) -> tuple[list[dict], object]:
    """metrics.csv's rows (step int, the rest float) of `drawart.train.fit` on `pixels` (H, W, C)
    with `config` (a RunConfig), in a new run directory that is thrown away, and `look(run)` (None
    without it), called on the run before it goes. Imports TensorFlow."""
    import csv
    import tempfile

    from drawart import train
    from drawart.batches import TrainingData
    from drawart.run import RunDir

    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp) / "run")
        run.create(config)
        train.fit(run, TrainingData.picture(pixels), config, echo=lambda _: None)
        with open(run.metrics_path) as f:
            rows = [{k: int(v) if k == "step" else float(v) for k, v in r.items()} for r in csv.DictReader(f)]
        return rows, look(run) if look else None


def fit_rate(pixels, config) -> tuple[float, float]:
    """(steps a second, last loss) of a real fit (`fit_rows`): the rate from the first logged row
    to the last, so the first call's compiling is left out."""
    rows, _ = fit_rows(pixels, config)
    first, last = rows[0], rows[-1]
    return (last["step"] - first["step"]) / (last["seconds"] - first["seconds"]), last["loss"]
