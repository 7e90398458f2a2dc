"""A drawing's strokes as data: every glimpse's write window and patch, in image-relative units.

DRAW's strokes are Gaussian filters, so they have no fixed resolution: a strokes document (the
schema and the formulas are in docs/strokes-schema.md) can be redrawn at any size.
`redraw` does it here in numpy from the document alone; the run's page (page.js) does the same in
JavaScript at the browser's own pixel size. Tests hold both to the model's canvases.

Each milestone's strokes are stored once, in RUN/strokes/step-NNNNNNN.json, when `fit` reaches it,
so the page is assembled without tracing older milestones again. The model is handed in:
nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from drawart import run as rundir
from drawart.atomic import atomic_write_bytes
from drawart.checkpoints import list_checkpoints, step_name
from drawart.config import RenderConfig
from drawart.errors import DrawartError
from drawart.progress import Progress
from drawart.windows import axis_filters

if TYPE_CHECKING:  # the model needs TensorFlow, which this module does not load
    from drawart.model import DrawModel

SCHEMA = "drawart-strokes/1"
# ---------------------------------------------------------------------------------------------
# The document


def strokes(model: DrawModel, pixels: np.ndarray, step: int, seed: int = RenderConfig.seed) -> dict:
    """The strokes document of `model` redrawing `pixels` (H, W, C) with the noise of `seed`.

    Windows come from the model's own filterbanks, so the document holds what the model draws.
    """
    cfg = model.config
    if not cfg.attention:
        raise ValueError("a model without attention writes whole canvases, not strokes")
    traced = model.trace(pixels, seed=seed)
    t = np.arange(cfg.glimpses)[:, None]
    write = _relative(model.writer.filterbank.window(traced["write"], t), cfg)
    read = _relative(model.reader.filterbank.window(traced["read"], t), cfg)
    patches = _short(traced["patch"])
    return {
        "schema": SCHEMA,
        "step": int(step),
        "seed": int(seed),
        "image": {"width": cfg.width, "height": cfg.height, "channels": cfg.channels},
        "window": cfg.window,
        "write_n": cfg.write_n,
        "read_n": cfg.read_n,
        "canvas_start": _short(np.asarray(model.canvas_start)),
        "glimpses": [{"write": write[t], "read": read[t], "patch": patches[t]} for t in range(cfg.glimpses)],
    }


def _relative(window, cfg) -> list[dict]:
    """Per glimpse: centre as a share of the width and height from the top-left corner, stride and
    σ as shares of the longest side, intensity γ."""
    longest = max(cfg.width, cfg.height)
    gx, gy, delta, sigma, gamma = (
        np.asarray(v, np.float64)[:, 0] for v in (window.gx, window.gy, window.delta, window.sigma, window.gamma)
    )
    return [
        {
            "x": float((gx[t] + 0.5) / cfg.width),
            "y": float((gy[t] + 0.5) / cfg.height),
            "stride": float(delta[t] / longest),
            "sigma": float(sigma[t] / longest),
            "gamma": float(gamma[t]),
        }
        for t in range(len(gx))
    ]


def _short(values) -> list:
    """float32 values as nested lists of the shortest decimals that read back as the same float32:
    exact, and half the size of their float64 digits."""
    values = np.asarray(values, np.float32)
    return np.array([float(str(v)) for v in values.ravel()]).reshape(values.shape).tolist()


def to_json(doc: dict) -> str:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)


# ---------------------------------------------------------------------------------------------
# Redrawing from the document alone


def redraw(doc: dict, scale: float = 1.0) -> np.ndarray:
    """Every canvas σ(c_t), t = 0..T, of a strokes document at `scale` times the training size:
    float64 (T+1, round(H·scale), round(W·scale), C). Uses nothing but the document."""
    image, n, kind = doc["image"], doc["write_n"], doc["window"]
    width, height, channels = image["width"], image["height"], image["channels"]
    cols, rows = round(width * scale), round(height * scale)
    logits = np.empty((rows, cols, channels))
    logits[:] = np.asarray(doc["canvas_start"], np.float64)
    canvases = [_sigmoid(logits)]
    for glimpse in doc["glimpses"]:
        write = glimpse["write"]
        fx = axis_filters(write["x"] * width, write, n, cols, scale, max(width, height), kind)
        fy = axis_filters(write["y"] * height, write, n, rows, scale, max(width, height), kind)
        patch = np.asarray(glimpse["patch"], np.float64)  # (C, N rows along y, N along x)
        # Two matrix products (Fyᵀ w Fx per channel): as one three-operand einsum, numpy loops over
        # every (y, x, i, j), 11 s for a 256-px drawing instead of a fraction of a second.
        logits = logits + np.transpose(fy.T @ patch @ fx, (1, 2, 0)) / write["gamma"]
        canvases.append(_sigmoid(logits))
    return np.stack(canvases)


def drawing_progress(doc: dict, image: np.ndarray) -> Progress:
    """How the strokes of `doc` draw `image` (H, W, C), glimpse by glimpse, at the training size."""
    return Progress.of(redraw(doc), image)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------------------------------------
# A run's strokes: which steps, stored once, traced when missing


def drawable_steps(run: rundir.RunDir) -> list[int]:
    """Steps whose weights are kept: every milestone, and the newest intact checkpoint."""
    steps = {step for step, _ in list_checkpoints(run.milestones)}
    latest = run.latest_checkpoint(warn=lambda message: None)
    if latest:
        steps.add(latest[0])
    return sorted(steps)


def choose_step(run: rundir.RunDir, step: int | None) -> int:
    """`step` if its weights are kept (the newest such step if None); else one line listing them."""
    kept = drawable_steps(run)
    if not kept:
        raise DrawartError(f"{run.path} has no milestone or checkpoint yet: train it with drawart fit first")
    if step is None:
        return kept[-1]
    if step not in kept:
        raise DrawartError(
            f"{run.path} kept no weights at step {step}: pick a milestone or the newest checkpoint "
            f"(--step {', '.join(map(str, kept))})"
        )
    return step


def stored_path(run: rundir.RunDir, step: int) -> Path:
    return run.strokes / f"{step_name(step)}.json"


def stored(run: rundir.RunDir, step: int) -> dict | None:
    """The stored strokes of `step`, or None when there are none of this schema."""
    try:
        doc = json.loads(stored_path(run, step).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or doc.get("step") != step:
        return None
    return doc


def newest_stored(run: rundir.RunDir) -> dict | None:
    """The stored strokes of the newest kept step that has them, or None."""
    for step in reversed(drawable_steps(run)):
        if (doc := stored(run, step)) is not None:
            return doc
    return None


class StoredStrokes(Mapping):
    """{step: stored strokes or None} for those of `steps` with a strokes file, each read when it is
    first looked up: a page shows a few of a long run's milestones, and each document can be MBs."""

    def __init__(self, run: rundir.RunDir, steps: list[int]) -> None:
        self.run, self.steps, self.read = run, [s for s in steps if stored_path(run, s).is_file()], {}

    def __getitem__(self, step: int) -> dict | None:
        if step not in self.steps:
            raise KeyError(step)
        if step not in self.read:
            self.read[step] = stored(self.run, step)
        return self.read[step]

    def __iter__(self):
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)


def store(run: rundir.RunDir, doc: dict) -> None:
    """Write a step's strokes into RUN/strokes/, atomically, unless they are there already."""
    if stored(run, doc["step"]) is not None:
        return
    run.strokes.mkdir(exist_ok=True)
    atomic_write_bytes(stored_path(run, doc["step"]), to_json(doc).encode("utf-8"))
