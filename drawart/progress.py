"""How far a drawing gets, glimpse by glimpse: the PSNR of every canvas and what it says.

A glimpse *draws* when it raises the PSNR by at least ADDING dB. The *late share* is the part of
the gain over the flat mean colour made after the first quarter of the glimpses: a network that
paints everything in its block-in and then stops has a late share near 0. Numpy only, so `info`,
the page and the benches compute them from a stored strokes document (export.redraw) and the
run's image without TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ADDING = 0.05  # dB: a glimpse that moves the PSNR by less adds nothing to the drawing


def psnr(image: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of values in [0, 1]."""
    mse = float(np.mean((np.asarray(image, np.float64) - np.asarray(target, np.float64)) ** 2))
    return -10 * math.log10(max(mse, 1e-12))


def flat_psnr(pixels: np.ndarray) -> float:
    """PSNR of the image's mean colour (one value per channel) painted everywhere."""
    pixels = np.asarray(pixels, np.float64)
    return psnr(np.broadcast_to(pixels.mean(axis=(0, 1)), pixels.shape), pixels)


@dataclass(frozen=True)
class Progress:
    """The drawing measures of one reconstruction."""

    psnr: np.ndarray  # (T+1,) of the canvas before the first glimpse and after each, dB
    flat: float  # of the image's flat mean colour, dB

    def __post_init__(self):
        object.__setattr__(self, "psnr", np.asarray(self.psnr, np.float64))

    @classmethod
    def of(cls, canvases, image) -> Progress:
        """From canvases (T+1, H, W, C) in [0, 1] and the image (H, W, C) they draw."""
        return cls(np.array([psnr(canvas, image) for canvas in canvases]), flat_psnr(image))

    @property
    def glimpses(self) -> int:
        return len(self.psnr) - 1

    def drawing(self) -> int:
        """Glimpses whose canvas is at least ADDING dB above the one before."""
        return int(np.sum(np.diff(self.psnr) >= ADDING))

    def late_share(self) -> float:
        """(PSNR(T) − PSNR(T/4)) / (PSNR(T) − flat), T/4 rounded down; NaN where the drawing is
        no better than the flat colour."""
        last, quarter = self.psnr[-1], self.psnr[self.glimpses // 4]
        gained = last - self.flat
        return float((last - quarter) / gained) if gained > 0 else float("nan")

    def few_drawing(self) -> bool:
        """Fewer than half the glimpses draw: the drawing is made by a few and the rest do nothing."""
        return self.drawing() < self.glimpses / 2

    def describe(self) -> str:
        """One line, as `info` and `fit` print it."""
        late = self.late_share()
        late = f"{late:.2f}" if math.isfinite(late) else "n/a (no better than the flat colour)"
        return f"{self.drawing()} of {self.glimpses} glimpses draw (add >= {ADDING} dB), late share {late}, {self.psnr[-1]:.2f} dB"
