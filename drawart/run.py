"""The run directory: its layout, where each file of a run lives, and finding the run to use.

    RUN/config.json           every hyperparameter, the image's digest, package versions
    RUN/checkpoints/step-*/   the last few checkpoints, each with a manifest of checksums
    RUN/checkpoints/step-*.damaged   checkpoints that failed their checksums, set aside
    RUN/milestones/step-*/    checkpoints at GIF milestones, never rotated away
    RUN/metrics.csv           one row per logged step, appended across resumes
    RUN/validation.csv        the bound on held-out images (data sets), one row per checkpoint
    RUN/image.npy, data.npy   the picture, or the data set's images, exactly as trained on
    RUN/gifs/                 milestone GIFs
    RUN/samples/              grids of drawings from the prior (drawart sample)
    RUN/strokes/step-*.json   the strokes each milestone draws (export.py), written once
    RUN/index.html            the run's page (page.py), rewritten at every milestone
    RUN/tensorboard/          TensorBoard event files: scalars and reconstructions by global step
    RUN/lock                  held (flock) by the one process training this run

Every file is written under a temporary name and renamed into place, so a crash never leaves a
half-written file where a reader will look. Knows nothing of TensorFlow: checkpoints are written
by a callable it is handed.
"""

from __future__ import annotations

import io
import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drawart.atomic import atomic_write_bytes
from drawart.batches import TrainingData
from drawart.checkpoints import latest_good_checkpoint, list_checkpoints
from drawart.config import RunConfig
from drawart.errors import RunError
from drawart.lock import RunLock


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def milestones(self) -> Path:
        return self.path / "milestones"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def validation_path(self) -> Path:
        return self.path / "validation.csv"

    @property
    def gifs(self) -> Path:
        return self.path / "gifs"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def strokes(self) -> Path:
        return self.path / "strokes"

    @property
    def page_path(self) -> Path:
        return self.path / "index.html"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def image_path(self) -> Path:
        return self.path / "image.npy"

    def exists(self) -> bool:
        return self.config_path.exists()

    def save_image(self, pixels) -> None:
        """The prepared training image, exactly as trained on: renders never reload the source."""
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(pixels, dtype=np.float32))
        atomic_write_bytes(self.image_path, buffer.getvalue())

    def load_image(self):
        return self._load(self.image_path)

    @property
    def data_path(self) -> Path:
        return self.path / "data.npy"

    def save_data(self, images) -> None:
        """A data set's prepared images, exactly: as uint8 when every value is a multiple of 1/255
        (MNIST at its own size: a quarter of the float32 size), else as float32."""
        images = np.asarray(images, dtype=np.float32)
        as_bytes = np.round(images * 255).astype(np.uint8)
        exact = np.array_equal(as_bytes.astype(np.float32) / 255.0, images)
        buffer = io.BytesIO()
        np.save(buffer, as_bytes if exact else images)
        atomic_write_bytes(self.data_path, buffer.getvalue())

    def load_data(self):
        images = self._load(self.data_path)
        # The same division as image loading does, so the floats are the ones trained on.
        return images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images

    def training_data(self, config: RunConfig) -> TrainingData:
        """The images as trained on (a picture is a set of one) and their roles: train, held out, shown."""
        dataset = config.image.dataset
        images = self.load_data() if dataset else self.load_image()[None]
        return TrainingData.prepare(images, config.image.val_fraction, config.train.seed, single=not dataset)

    def _load(self, path: Path):
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise RunError(
                f"{path} is missing or unreadable ({type(err).__name__}): rerun drawart fit on this run to restore it"
            ) from None

    def read_config(self) -> RunConfig:
        """The stored config; a hand-edited, broken `config.json` is one clear error."""
        try:
            data = json.loads(self.config_path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("the top level is not a JSON object")
            return RunConfig.from_dict(data)
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise RunError(
                f"{self.config_path} is not a valid drawart config ({reason}): "
                "restore it or start a new run with another --out"
            ) from None

    def write_config(self, config: RunConfig) -> None:
        text = json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.config_path, text.encode("utf-8"))

    def make_dir(self) -> None:
        """Make the run's directory (and its parents) if missing; one line if it cannot be made."""
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"{self.path} is a file, not a run directory: choose another --out")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunError(f"cannot create run directory {self.path} ({err.strerror}): choose another --out") from None

    def create(self, config: RunConfig) -> None:
        """Make the directory for a new run and write its config; refuse if another made it first."""
        self.make_dir()
        if self.exists():
            raise RunError(f"{self.path} was started by another process meanwhile: rerun the same command to resume it")
        try:
            self.write_config(config)
        except OSError as err:
            raise RunError(f"cannot create run directory {self.path} ({err.strerror}): choose another --out") from None

    def remove_if_unstarted(self) -> None:
        """Delete this run's directory if no checkpoint was ever written in it: nothing is lost, and
        a broken start never becomes the run that commands pick by default."""
        if self.path.is_dir() and not list_checkpoints(self.checkpoints) and not list_checkpoints(self.milestones):
            shutil.rmtree(self.path, ignore_errors=True)

    def lock(self) -> RunLock:
        return RunLock(self.path / "lock")

    def latest_checkpoint(self, warn=None) -> tuple[int, str] | None:
        """(step, prefix) of the newest intact checkpoint: where a resume starts.

        Milestones hold the weights alone (enough to redraw), so a resume never starts from one.
        """
        return latest_good_checkpoint([self.checkpoints], warn=warn)

    @contextmanager
    def writing(self, what: str, path: Path, step: int):
        """Turn a failed write (full disk, read-only folder...) into one line saying how to go on.

        Wrap every write made during training in it: `with run.writing("checkpoint", folder, step):`.
        Writers must leave earlier files intact on failure (atomic_write_bytes, save_checkpoint do).
        """
        try:
            yield
        except OSError as err:
            reason = err.strerror or str(err) or type(err).__name__
            found = self.latest_checkpoint(warn=lambda message: None)
            then = f"resume from step {found[0]}" if found else "start again from step 0"
            raise RunError(
                f"cannot write the {what} at step {step} in {path} ({reason}): free some disk space "
                f"or make {self.path} writable, then rerun the same command to {then}"
            ) from None


def find_run(path: Path | None, outputs: Path) -> RunDir:
    """The run at `path`, or the most recently trained one under `outputs` when path is None."""
    if path is None:
        runs = [RunDir(p) for p in outputs.glob("*") if (p / "config.json").is_file()] if outputs.is_dir() else []
        if not runs:
            raise RunError(f"no runs under {outputs}/: train one with drawart fit IMAGE, or name a run directory")
        return max(runs, key=lambda r: max(f.stat().st_mtime for f in (r.config_path, r.metrics_path) if f.exists()))
    run = RunDir(path)
    if not run.exists():
        raise RunError(f"{path} is not a drawart run (no config.json): name a directory made by drawart fit")
    return run
