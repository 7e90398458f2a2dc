"""Which images each optimiser step sees: the held-out split and the shuffled batches.

Everything here is a pure function of the run's seed, the number of images and the step, so a
resumed run sees exactly the batches it would have seen without stopping, whatever step it resumed
from, and nothing about the data order needs to be saved in a checkpoint.

One image is the data set of one image: every step then sees it `batch` times, once per noise
sample, which is how drawart overfits a single picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


def held_out_count(count: int, val_fraction: float) -> int:
    """How many of `count` images are held out: asking for a held-out set never gives none."""
    held = int(round(count * val_fraction))
    return max(held, 1) if val_fraction > 0 else held


def split(count: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) image indices: a seeded random `val_fraction` of the images is held out.

    Both are sorted, so the held-out set (and the fixed set shown in GIFs) reads in data order.
    """
    held = held_out_count(count, val_fraction)
    order = np.random.default_rng([seed, 0x5E7]).permutation(count)
    return np.sort(order[held:]), np.sort(order[:held])


class BatchPlan:
    """The batch of image indices for every step: each epoch a fresh seeded shuffle of `images`.

    An epoch is `len(images) // batch` steps (at least one); a batch larger than the data set
    wraps around the shuffled order, so with one image every slot holds that image.
    """

    def __init__(self, images: np.ndarray, batch: int, seed: int) -> None:
        if len(images) == 0:
            raise ValueError("a batch plan needs at least one image")
        self.images, self.batch, self.seed = np.asarray(images), batch, seed
        self.steps_per_epoch = max(1, len(self.images) // batch)

    @lru_cache(maxsize=2)  # noqa: B019 (a plan lives as long as its run; two epochs' orders are all it holds)
    def _order(self, epoch: int) -> np.ndarray:
        return self.images[np.random.default_rng([self.seed, epoch]).permutation(len(self.images))]

    def indices(self, step: int) -> np.ndarray:
        """Image indices (batch,) used by optimiser step `step` (0-based: the step about to run)."""
        epoch, position = divmod(step, self.steps_per_epoch)
        slots = (position * self.batch + np.arange(self.batch)) % len(self.images)
        return self._order(epoch)[slots]

    def chunk(self, start: int, steps: int, slots: int) -> np.ndarray:
        """(slots, batch) indices for steps start..start+steps-1; unused slots repeat the last step."""
        if not 1 <= steps <= slots:
            raise ValueError(f"a chunk of {steps} steps does not fit in {slots} slots")
        rows = [self.indices(step) for step in range(start, start + steps)]
        return np.stack(rows + rows[-1:] * (slots - steps))


@dataclass(frozen=True)
class TrainingData:
    """A run's images and their roles: trained on, held out to measure the bound, shown in GIFs."""

    images: np.ndarray  # float32 (N, H, W, C) in [0, 1]
    train: np.ndarray  # indices of the images trained on
    held_out: np.ndarray  # indices of the images only ever evaluated
    single: bool  # one picture being overfitted, not a data set

    @classmethod
    def prepare(cls, images: np.ndarray, val_fraction: float, seed: int, single: bool) -> TrainingData:
        images = np.asarray(images, dtype=np.float32)
        train, held_out = split(len(images), val_fraction, seed)
        if len(train) == 0:
            raise ValueError(f"holding out {val_fraction} of {len(images)} images leaves none to train on")
        return cls(images, train, held_out, single)

    @classmethod
    def picture(cls, pixels: np.ndarray) -> TrainingData:
        """One picture (H, W, C) to overfit: a set of one, nothing held out."""
        return cls.prepare(np.asarray(pixels)[None], 0.0, 0, single=True)

    def plan(self, batch: int, seed: int) -> BatchPlan:
        return BatchPlan(self.train, batch, seed)

    @property
    def drawn(self) -> np.ndarray:
        """The image (H, W, C) whose strokes a run exports and measures: its picture, or the first
        image a data set's GIFs redraw (its first held-out image)."""
        shown = self.shown(1)
        return shown if self.single else shown[0]

    def shown(self, count: int) -> np.ndarray:
        """What milestone GIFs redraw: the picture (H, W, C), or for a data set a fixed set
        (K, H, W, C) of its first `count` held-out images (training images if none are held out)."""
        if self.single:
            return self.images[0]
        pool = self.held_out if len(self.held_out) else self.train
        return self.images[pool[:count]]
