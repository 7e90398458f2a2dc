"""How drawn a drawing is: the measures the drawn-strokes work is judged by, per glimpse.

- window share: the share of the image's area inside each write window (clipped to the image);
- coverage ripple: max/min of the summed write filters inside the window (1: no gaps; see
  filterbank.coverage_ripple and the design notes);
- pixels changed: the share of pixels whose value changes by more than 2/255 when the glimpse is
  added. A drawn picture changes a part of the image at a time; a fade-in changes all of it;
- gain: how much the glimpse moves the PSNR. A glimpse that moves it by under 0.05 dB adds nothing
  to the drawing, as a glimpse pushed to its confined limits does (bench/glimpses.py);
- side and log γ: the write window's side, as a share of the image's longest side, and its
  intensity (the write divides by γ);
- drawing and late share: glimpses that raise the PSNR by at least 0.05 dB, and the share of the
  gain made after the first quarter of the glimpses (progress.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from drawart.filterbank import coverage_ripple, filter_centres, window_share
from drawart.progress import ADDING, Progress

if TYPE_CHECKING:  # the model needs TensorFlow, which this module does not load
    from drawart.model import DrawModel

CHANGED = 2 / 255  # a change a viewer can see on an 8-bit frame


@dataclass(frozen=True)
class Strokes:
    """Per-glimpse measures of one reconstruction; arrays are (T,)."""

    psnr: float  # of the final canvas, dB
    share: np.ndarray  # write window area / image area
    ripple: np.ndarray  # worst of the two axes
    side: np.ndarray  # write window side / the image's longest side
    log_gamma: np.ndarray  # write intensity
    changed: np.ndarray  # share of pixels changed by more than 2/255
    progress: np.ndarray  # (T+1,) PSNR of the canvas before the first glimpse and after each, dB
    flat: float = float("nan")  # PSNR of the image's flat mean colour, dB

    @property
    def gain(self) -> np.ndarray:
        """(T,) how much each glimpse moved the PSNR, dB."""
        return np.diff(self.progress)

    def adding(self) -> int:
        """Glimpses that moved the PSNR by at least ADDING dB."""
        return int(np.sum(np.abs(self.gain) >= ADDING))

    @property
    def drawn(self) -> Progress:
        """Glimpses drawing and the late share (progress.py)."""
        return Progress(self.progress, self.flat)

    def summary(self, skip: int = 4) -> dict:
        """The figures the issues ask for: PSNR, median share over glimpses after `skip`, worst
        ripple over all glimpses, median share of pixels changed per glimpse."""
        return {
            "psnr": self.psnr,
            "share": float(np.median(self.share[skip:] if len(self.share) > skip else self.share)),
            "ripple": float(self.ripple.max()),
            "changed": float(np.median(self.changed)),
        }


def changed_per_glimpse(canvases: np.ndarray) -> np.ndarray:
    """(T+1, H, W, C) canvases in [0, 1] → (T,) share of pixels that glimpse t changed visibly."""
    steps = np.abs(np.diff(np.asarray(canvases, np.float64), axis=0)).max(axis=-1)
    return (steps > CHANGED).mean(axis=(1, 2))


def write_measures(model: DrawModel, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(share, ripple, side, log γ) of each glimpse's write window from its raw parameters (T, 5)."""
    cfg, bank = model.config, model.writer.filterbank
    params = np.asarray(params, "float32")
    t = np.arange(len(params))[:, None]
    window = bank.window(params, t)
    fx, fy, _ = (np.asarray(v) for v in bank(params, t=t))
    share = window_share(window, cfg.write_n, cfg.height, cfg.width)
    ripple = np.maximum(
        coverage_ripple(fx, filter_centres(window.gx, window.delta, cfg.write_n), cfg.width),
        coverage_ripple(fy, filter_centres(window.gy, window.delta, cfg.write_n), cfg.height),
    )
    side = np.asarray(window.delta)[:, 0] * cfg.write_n / max(cfg.height, cfg.width)
    return share, ripple, side, np.log(np.asarray(window.gamma)[:, 0])


def measure(model: DrawModel, pixels: np.ndarray, seed: int = 0) -> Strokes:
    """Reconstruct `pixels` (H, W, C) with the noise of `seed` and measure every glimpse."""
    traced = model.trace(pixels, seed=seed)
    canvases = traced["canvases"]
    drawn = Progress.of(canvases, pixels)
    return Strokes(
        float(drawn.psnr[-1]),
        *write_measures(model, traced["write"]),
        changed_per_glimpse(canvases),
        drawn.psnr,
        drawn.flat,
    )
