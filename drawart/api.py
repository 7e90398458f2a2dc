"""The library's front: open a run and get its model, frames and strokes at a kept step (the public
API), and carry out a planned fit (what `drawart fit` calls).

Everything here is reachable from the package's top level (`drawart.open_run`); the modules
behind it are free to move. Nothing imports TensorFlow until a model is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from drawart.checkpoints import list_checkpoints
from drawart.config import RenderConfig, RunConfig, smooth_by_default
from drawart.errors import DrawartError
from drawart.fit_plan import FitPlan
from drawart.run import RunDir
from drawart.tflogs import start_tensorflow


class Run:
    """A run directory made by `drawart fit`, read-only: what it trained on and what it draws."""

    def __init__(self, path: str | Path) -> None:
        self._run = RunDir(Path(path))
        if not self._run.exists():
            raise DrawartError(
                f"{self._run.path} is not a drawart run (no config.json): pass a run made by drawart fit"
            )
        self.config: RunConfig = self._run.read_config()

    @property
    def path(self) -> Path:
        return self._run.path

    @property
    def image(self) -> np.ndarray:
        """The image its strokes redraw, (H, W, C) floats in [0, 1], exactly as trained on."""
        return self._run.training_data(self.config).drawn

    @property
    def milestones(self) -> list[int]:
        """Steps whose weights were kept at every --gif-every."""
        return [step for step, _ in list_checkpoints(self._run.milestones)]

    @property
    def steps(self) -> list[int]:
        """Every step whose weights are kept: the milestones and the newest intact checkpoint."""
        from drawart.export import drawable_steps

        return drawable_steps(self._run)

    def model(self, step: int | None = None):
        """The DRAW model (a keras.Model) with the drawing's weights at `step` (the newest if None)."""
        from drawart.export import choose_step

        step = choose_step(self._run, step)
        start_tensorflow()
        from drawart import train

        model, latest = train.load_model(self._run)
        if step != latest:
            restore = dict(train.milestone_weights(self._run, model))[step]
            restore()
        return model

    def frames(self, step: int | None = None, **options) -> np.ndarray:
        """uint8 frames (T+1, H, W, C) of the drawing at `step`, as `drawart gif` draws it.

        `options` are RenderConfig's fields (boxes, scale, seed, ...), e.g. `frames(boxes=False)`.
        """
        from drawart import drawing

        render = RenderConfig(**options)
        if "smooth" not in options:
            render = replace(render, smooth=smooth_by_default(self.config.model))
        pixels = self._run.training_data(self.config).shown(render.shown)
        return drawing.reconstruction_frames(self.model(step), pixels, render)

    def strokes(self, step: int | None = None) -> dict:
        """The strokes document (schema drawart-strokes/1, docs/strokes-schema.md) at `step`."""
        from drawart import export

        step = export.choose_step(self._run, step)
        doc = export.stored(self._run, step) or trace_steps(self._run, [step]).get(step)
        if doc is None:
            raise DrawartError(f"the weights {self.path} kept at step {step} are damaged: pick another step")
        return doc


def fit(plan: FitPlan, echo: Callable[[str], None] = print, progress: str | None = "lines") -> int:
    """Carry out what `plan_fit` planned: make the run or take its lock, store its image, and train
    it to its steps (see train.fit). Returns the step reached.

    A new run that fails before its first checkpoint is removed, so it never becomes the run that
    commands pick by default; a folder that held anything before is never removed.
    """
    run, config = plan.run, plan.config
    if config.train.strategy != "default":
        start_tensorflow()
        from drawart.train import make_strategy

        make_strategy(config.train)  # refuse a batch the devices cannot share before making the run
    made_here = not run.path.exists()
    run.make_dir()
    created = False  # the config, by this process: only then is a failed start its own to remove
    try:
        with run.lock():
            if not plan.resuming:
                run.create(config)
                created = True
            elif run.read_config() != config:
                run.write_config(config)  # only fields that may change between resumes differ
            if config.image.dataset and not run.data_path.exists():
                run.save_data(plan.pixels)
            if not config.image.dataset and not run.image_path.exists():
                run.save_image(plan.pixels)
            start_tensorflow()
            from drawart.train import fit as fit_run

            _, step = fit_run(run, run.training_data(config), config, echo=echo, progress=progress)
    except BaseException:
        if made_here and created:
            run.remove_if_unstarted()
        raise
    return step


def open_run(path: str | Path) -> Run:
    """The run at `path` (a directory made by `drawart fit`)."""
    return Run(path)


def trace_steps(run: RunDir, steps: list[int]) -> dict[int, dict]:
    """Strokes of the weights kept at each of `steps` (a damaged milestone gives none), stored in
    the run when it is writable. Imports TensorFlow."""
    from drawart import train
    from drawart.export import store, strokes

    image = run.training_data(run.read_config()).drawn
    model, latest = train.load_model(run)
    found = {}
    if latest in steps:  # before any milestone's weights replace the newest checkpoint's
        found[latest] = strokes(model, image, latest)
    for step, restore in train.milestone_weights(run, model):
        if step in steps and step not in found:
            restore()
            found[step] = strokes(model, image, step)
    for doc in found.values():
        try:
            store(run, doc)
        except OSError:
            pass  # a read-only run: the strokes are traced again next time
    return found
