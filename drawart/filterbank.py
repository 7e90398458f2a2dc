"""DRAW's selective attention as a Keras layer: a grid of N×N Gaussian filters, placed by a window
type (windows.py), read from an image or written onto a canvas.

A head (read or write) outputs five raw numbers per glimpse; its window type turns them into a
window: centre (gx, gy), stride δ, spread σ, intensity γ, in 0-based pixels of the training
image. Images inside the model are rows-first, (batch, B, C, A), so that one filterbank serves
every channel in a single plain matmul.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from drawart.config import ModelConfig
from drawart.windows import SPREAD_MAX, WINDOW_TYPES, Window

# A cropped local write (Filterbank.cropped) keeps every pixel within this many σ of a filter
# centre: what it leaves out weighs under exp(-18) = 1.5e-8 of a filter's peak.
CROP_SIGMAS = 6


def halton(index: int, base: int) -> float:
    """The index-th point (from 1) of the van der Corput sequence in `base`: evenly spread in [0, 1)."""
    point, scale = 0.0, 1.0
    while index:
        scale /= base
        index, digit = divmod(index, base)
        point += scale * digit
    return point


def starting_places(glimpses: int, reach: int, max_window: float) -> np.ndarray:
    """(glimpses, 2) offsets added to (g̃x, g̃y) of each local write window: 0 for the first
    `reach` glimpses, then a Halton (2, 3) sequence over the image, inset so a window of side
    `max_window` starts inside it.

    Early in training the raw parameters are near 0 whatever the glimpse, so without these every
    local window would start at the image's centre and the network would first have to learn to
    move them apart; on chelsea at 64 px that cost 2 dB at step 1000 and 6 dB at step 5000
    (bench/strokes.py). The network still places every window where it likes.
    """
    places = np.zeros((glimpses, 2), "float32")
    for t in range(reach, glimpses):
        k = t - reach + 1
        places[t] = (2 * halton(k, 2) - 1, 2 * halton(k, 3) - 1)
    return places * (1 - max_window)


class Filterbank(keras.layers.Layer):
    """Maps raw parameters (batch, 5) to (Fx, Fy, γ) through the `kind` of window (see WINDOWS).

    Fx is (batch, N, A), Fy is (batch, N, B) and γ is (batch, 1). The raw parameters are
    [g̃x, g̃y, log σ², log δ̃, log γ] for "paper" and [g̃x, g̃y, spread, stride, log γ] for
    "local". `head` is "read" or "write": a local write filterbank scales its filters by δ (see the
    module docstring). `grid_scale` > 1 evaluates the same filters on a grid `grid_scale` times
    finer, round(A·s) × round(B·s) pixels (for rendering above the training size): the centres,
    strides and σ stay where they are in image space and each fine pixel gets the weight of the
    image point it covers, so intensities are kept.
    """

    def __init__(
        self,
        n: int,
        height: int,
        width: int,
        grid_scale: float = 1,
        kind: str = "paper",
        head: str = "read",
        max_window: float = 1.0,
        reach: int = 0,
        glimpses: int = 1,
        taper: int = 0,
        confined: bool = False,
        window_floor: float = ModelConfig.window_floor,
        gamma_range: float = ModelConfig.gamma_range,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if kind not in WINDOW_TYPES:
            raise ValueError(f"window must be one of {', '.join(WINDOW_TYPES)}, got {kind!r}")
        self.window_type = WINDOW_TYPES[kind]
        self.n, self.height, self.width, self.grid_scale = n, height, width, grid_scale
        self.kind, self.head, self.max_window, self.reach = kind, head, max_window, reach
        self.glimpses, self.taper, self.confined = glimpses, taper, confined
        self.window_floor, self.gamma_range = window_floor, gamma_range
        self.places = starting_places(glimpses, reach, max_window)

    def window(self, params, t=0) -> Window:
        """The grid the raw parameters describe at glimpse t (an int, or (batch, 1) indices)."""
        return self.window_type.window(self, params, t)

    def overshoot(self, params, t):
        """(batch,) how far raw parameters sit past the window's limits (WindowType.overshoot)."""
        return self.window_type.overshoot(self, params, t)

    def call(self, params, t=0):
        window = self.window(params, t)
        fx = self._filters(window.gx, window, self.width)
        fy = self._filters(window.gy, window, self.height)
        return fx, fy, window.gamma

    def crop_sides(self) -> tuple[int, int]:
        """(rows, columns) of the crop a local write window at `max_window` always fits in, with
        CROP_SIGMAS of its filters' spread on each side; an image side when the crop would not be
        smaller. Only for a local write filterbank at the training size."""
        side = self.max_window * max(self.width, self.height)
        # + 4: a pixel of rounding at each end of the crop, which is centred on the window to a pixel.
        needed = math.ceil(side * (self.n - 1 + 2 * CROP_SIGMAS * SPREAD_MAX) / self.n) + 4
        return min(self.height, needed), min(self.width, needed)

    def cropped(self, params, t, rows: int, columns: int):
        """(Fx, Fy, γ, x0, y0) for windows bounded by `max_window` (glimpses at or after the
        block-in and taper): Fx is (batch, N, columns) over image columns x0..x0+columns−1, Fy
        likewise over rows, x0 and y0 (batch,) int32. The filters are those of `call` on those
        pixels; off the crop they weigh under exp(−CROP_SIGMAS²/2) of their peak.

        At 256 px a local write window covers at most a third of each side, so writing through the
        crop costs a fraction of a whole-image write (bench/profile_step.py).
        """
        window = self.window(params, t)
        fx, x0 = self._cropped_filters(window.gx, window, self.width, columns)
        fy, y0 = self._cropped_filters(window.gy, window, self.height, rows)
        return fx, fy, window.gamma, x0, y0

    def _cropped_filters(self, centre, window: Window, size: int, length: int):
        start = ops.clip(ops.floor(centre - (length - 1) / 2), 0, size - length)  # (batch, 1)
        pixels = start[:, :, None] + ops.arange(length, dtype=centre.dtype)[None, None, :]
        return self._filters_at(centre, window, pixels), ops.cast(start[:, 0], "int32")

    def _filters(self, centre, window: Window, size):
        """(batch, N, size): row i is a Gaussian at μ_i = centre + (i − N/2 + 0.5)·δ."""
        s = self.grid_scale
        # Centre of each fine pixel in the coarse image's coordinates; equals 0..size-1 when s = 1.
        pixels = (ops.arange(round(size * s), dtype=centre.dtype) + 0.5) / s - 0.5
        return self._filters_at(centre, window, pixels[None, None, :])

    def _filters_at(self, centre, window: Window, pixels):
        """The filter rows evaluated at `pixels` ((1 or batch, 1, P) coarse-image coordinates)."""
        offsets = ops.arange(self.n, dtype=centre.dtype) - self.n / 2 + 0.5
        mu = centre + offsets[None, :] * window.delta  # (batch, N)
        var = self.window_type.spread_at(window.var, self.grid_scale)
        weights = ops.exp(-ops.square(pixels - mu[:, :, None]) / (2 * var[:, :, None]))
        return self.window_type.normalised(self, weights, var, window)

    def get_config(self):
        return {
            **super().get_config(),
            "n": self.n,
            "height": self.height,
            "width": self.width,
            "grid_scale": self.grid_scale,
            "kind": self.kind,
            "head": self.head,
            "max_window": self.max_window,
            "reach": self.reach,
            "glimpses": self.glimpses,
            "taper": self.taper,
            "confined": self.confined,
            "window_floor": self.window_floor,
            "gamma_range": self.gamma_range,
        }


def read_glimpse(images, fx, fy, gamma):
    """γ · F_Y x F_Xᵀ for every channel: images (batch, B, C, A) → (batch, C, N, N).

    Written as two einsums over rows-first images, XLA on a CPU runs the read and its gradient in
    about half the time of the same products as reshaped batch matmuls (RGB 256 px, 80 → 50 ms a
    step on one thread; bench/profile_step.py).
    """
    across = ops.einsum("brca,bma->brcm", images, fx)  # (batch, B, C, N)
    glimpse = ops.einsum("bnr,brcm->bcnm", fy, across)
    return gamma[:, :, None, None] * glimpse


def write_patch(patch, fx, fy, gamma):
    """(1/γ) · F_Yᵀ w F_X for every channel: patch (batch, C, N, N) → (batch, B, C, A), rows-first."""
    down = ops.einsum("bnr,bcnm->brcm", fy, patch)  # (batch, B, C, N)
    return ops.einsum("brcm,bma->brca", down, fx) / gamma[:, :, None, None]


# ---------------------------------------------------------------------------------------------
# Measures of a window, in numpy: what the issues call window share and coverage ripple.


def window_share(window: Window, n: int, height: int, width: int) -> np.ndarray:
    """Share of the image's area inside each window's box [g − N·δ/2, g + N·δ/2]², clipped to the image."""

    def overlap(centre, size):
        half = np.asarray(window.delta) * n / 2
        low = np.maximum(np.asarray(centre) - half, -0.5)
        high = np.minimum(np.asarray(centre) + half, size - 0.5)
        return np.clip(high - low, 0, None) / size

    return (overlap(window.gx, width) * overlap(window.gy, height))[..., 0]


def coverage_ripple(filters, centres, size: int, margin: int = 2) -> np.ndarray:
    """max/min of the summed filter rows, between the second and the second-to-last filter centre
    and at least `margin` pixels inside the image: 1 where the filters leave no gap.

    `filters` (batch, N, size) exactly as the model applies them; `centres` (batch, N) their μ.
    A window too small to have such a stretch of pixels ripples by nothing (1).
    """
    filters, centres = np.asarray(filters, np.float64), np.asarray(centres, np.float64)
    coverage = filters.sum(axis=1)  # (batch, size)
    pixels = np.arange(size)
    low = np.maximum(np.ceil(centres[:, 1]), margin)
    high = np.minimum(np.floor(centres[:, -2]), size - 1 - margin)
    inside = (pixels[None] >= low[:, None]) & (pixels[None] <= high[:, None])
    top = np.where(inside, coverage, -np.inf).max(axis=1)
    bottom = np.where(inside, coverage, np.inf).min(axis=1)
    empty = ~inside.any(axis=1)
    top[empty] = bottom[empty] = 1.0
    return top / np.maximum(bottom, 1e-30)


def filter_centres(centre, delta, n: int) -> np.ndarray:
    """μ_i = centre + (i − N/2 + 0.5)·δ for i = 0..N−1: (batch, N)."""
    offsets = np.arange(n) - n / 2 + 0.5
    return np.asarray(centre) + offsets[None, :] * np.asarray(delta)
