"""DRAW's selective attention: a grid of N×N Gaussian filters, and the two ways of placing it.

A head (read or write) outputs five raw numbers per glimpse; a window parametrisation turns them
into a window: centre (gx, gy), stride δ, spread σ, intensity γ, in 0-based pixels of the training
image. Images inside the model are rows-first, (batch, B, C, A), so that one filterbank serves
every channel in a single plain matmul.

- "paper": Gregor et al. 2015, eqs. 19–29, written for 0-based indices (see the design notes).
  With g̃ = 0 the grid is centred on the image exactly, so reading a mirrored image gives the
  mirrored glimpse. Nothing bounds the window or ties σ to δ: on one photo training drives every
  write window to the whole image, with σ a fraction of δ, so each glimpse adds a lattice of dots.
- "local": gap-free, bounded windows. The stride goes through a sigmoid, so the window's side N·δ
  never exceeds a share (`side_bound`, by glimpse) of the image's longest side, and σ = s·δ with s in [0.5, 0.9]:
  neighbouring filters always overlap (the summed filters ripple by under 3% at s = 0.5) and never
  blur past the window's ends (under 4% at s = 0.9). Each filter is normalised by its own area, not
  by its sum over the image's pixels, so the summed filters are a smooth function merely sampled
  on the pixel grid: no gaps however fine the stride, and a window hanging over the edge draws off
  the canvas instead of piling its weight onto the edge pixels. A write filter is also scaled by δ,
  so the filters sum to ~1 wherever the window covers: a patch value is the same amount of ink
  whatever the stroke size, at any resolution. Centres and strides are shares of the image's size,
  so the same window lands on the same place of the picture at any size.
  Confined (the default), a write window cannot switch its glimpse off: its centre goes
  through tanh, so it stays on the image, its log γ through r·tanh(·/r) (r = `gamma_range`), and
  its side is at least `window_floor` of its bound. Unconfined, training parks glimpses where
  no gradient reaches them again (off the image, faded, shrunk to nothing); the limits close
  those ways of switching a glimpse off (docs/big-pictures.md has the measurements).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

from drawart.config import WINDOWS, ModelConfig
from drawart.filters import PAPER_EPS, display_blur

# σ/δ of a local window lies in [SPREAD_MIN, SPREAD_MAX]. Below 0.5 the summed filters leave
# gaps; above ~0.9 they sag by over 4% from the second filter centre to the window's middle.
SPREAD_MIN, SPREAD_MAX = 0.5, 0.9
# Keeps a local filter finite when its stride underflows to 0 (σ ≥ 0.001 px).
_TINY_VAR = 1e-6
# A cropped local write (Filterbank.cropped) keeps every pixel within this many σ of a filter
# centre: what it leaves out weighs under exp(-18) = 1.5e-8 of a filter's peak.
CROP_SIGMAS = 6


class Window(NamedTuple):
    """A filter grid in 0-based pixels of the training image; each field is (batch, 1)."""

    gx: object
    gy: object
    delta: object  # stride between filter centres
    var: object  # σ², the variance of every filter
    gamma: object  # intensity: the read multiplies by it, the write divides by it

    @property
    def sigma(self):
        return ops.sqrt(self.var)


def side_bound(t, max_window: float, reach: int, taper: int = 0):
    """The largest window side at glimpse t (0-based), as a share of the image's longest side.

    The first `reach` glimpses may span the whole image, so the drawing is blocked in with broad
    strokes. Over the next `taper` glimpses the bound narrows geometrically from the whole image
    towards `max_window`, and from glimpse `reach + taper` on it is `max_window`, so the rest is
    drawn locally. `t` may be a Python int, an array or a tensor.
    """
    if taper <= 0:  # one step, exactly as drawart 0.2.0 computed it
        return max_window if reach <= 0 else ops.where(ops.less(t, reach), 1.0, max_window)
    t = ops.cast(ops.convert_to_tensor(t), "float32")
    narrowed = ops.clip((t - reach + 1) / (taper + 1), 0.0, 1.0)
    return ops.where(ops.less(t, reach), 1.0, ops.power(max_window, narrowed))


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
        if kind not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {kind!r}")
        self.n, self.height, self.width, self.grid_scale = n, height, width, grid_scale
        self.kind, self.head, self.max_window, self.reach = kind, head, max_window, reach
        self.glimpses, self.taper, self.confined = glimpses, taper, confined
        self.window_floor, self.gamma_range = window_floor, gamma_range
        self.places = starting_places(glimpses, reach, max_window)

    def window(self, params, t=0) -> Window:
        """The grid the raw parameters describe at glimpse t (an int, or (batch, 1) indices)."""
        gx_raw, gy_raw, spread_raw, stride_raw, log_gamma = ops.split(params, 5, axis=-1)
        a, b, n = self.width, self.height, self.n
        if self.kind == "paper":
            gx = (a + 1) / 2 * (gx_raw + 1) - 1
            gy = (b + 1) / 2 * (gy_raw + 1) - 1
            delta = (max(a, b) - 1) / (n - 1) * ops.exp(stride_raw)
            return Window(gx, gy, delta, ops.exp(spread_raw), ops.exp(log_gamma))
        share = ops.sigmoid(stride_raw)  # of the bound
        if self.head == "write":
            places = ops.take(
                ops.convert_to_tensor(self.places), ops.reshape(ops.convert_to_tensor(t, "int32"), (-1,)), axis=0
            )
            gx_raw, gy_raw = gx_raw + places[:, :1], gy_raw + places[:, 1:]
            if self.confined:
                gx_raw, gy_raw = ops.tanh(gx_raw), ops.tanh(gy_raw)
                log_gamma = self.gamma_range * ops.tanh(log_gamma / self.gamma_range)
                share = self.window_floor + (1 - self.window_floor) * share
        # g̃ = ±1 are the image's outer edges; 0 its centre, as in the paper.
        gx = a / 2 * (gx_raw + 1) - 0.5
        gy = b / 2 * (gy_raw + 1) - 0.5
        bound = side_bound(t, self.max_window, self.reach, self.taper)
        delta = bound * max(a, b) / n * share
        spread = SPREAD_MIN + (SPREAD_MAX - SPREAD_MIN) * ops.sigmoid(spread_raw)
        var = ops.square(spread * delta) + _TINY_VAR
        return Window(gx, gy, delta, var, ops.exp(log_gamma))

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
        s = self.grid_scale
        var = window.var if self.kind == "paper" else window.var + display_blur(s)
        weights = ops.exp(-ops.square(pixels - mu[:, :, None]) / (2 * var[:, :, None]))
        if self.kind == "paper":  # each row sums to 1 over the image's pixels
            return s * weights / (ops.sum(weights, axis=-1, keepdims=True) + PAPER_EPS)
        area = math.sqrt(2 * math.pi) * ops.sqrt(var)[:, :, None]
        if self.head == "write":
            area = area / window.delta[:, :, None]
        return weights / area

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
