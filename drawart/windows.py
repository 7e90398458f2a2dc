"""The window types, one class each: how a head's five raw numbers place its grid of filters,
and how each filter is normalised, for training (Keras) and for redrawing (numpy).

A new window type is one class here, added to WINDOW_TYPES, and its JavaScript twin in page.js
(`Drawing.prototype.axis`, held to the numpy rows by the page's browser test). Keras is imported
inside the training methods only, so the numpy side (export, `drawart info`) loads no TensorFlow.

- "paper": Gregor et al. 2015, eqs. 19–29, written for 0-based indices (see the design notes).
  With g̃ = 0 the grid is centred on the image exactly, so reading a mirrored image gives the
  mirrored glimpse. Nothing bounds the window or ties σ to δ: on one photo training drives every
  write window to the whole image, with σ a fraction of δ, so each glimpse adds a lattice of dots.
- "local": gap-free, bounded windows. The stride goes through a sigmoid, so the window's side N·δ
  never exceeds a share (`side_bound`, by glimpse) of the image's longest side, and σ = s·δ with
  s in [0.5, 0.9]: neighbouring filters always overlap (the summed filters ripple by under 3% at
  s = 0.5) and never blur past the window's ends (under 4% at s = 0.9). Each filter is normalised
  by its own area, not by its sum over the image's pixels, so the summed filters are a smooth
  function merely sampled on the pixel grid: no gaps however fine the stride, and a window hanging
  over the edge draws off the canvas instead of piling its weight onto the edge pixels. A write
  filter is also scaled by δ, so the filters sum to ~1 wherever the window covers: a patch value
  is the same amount of ink whatever the stroke size, at any resolution. Centres and strides are
  shares of the image's size, so the same window lands on the same place of the picture at any size.
  Confined (the default), a write window cannot switch its glimpse off: its centre goes through
  tanh, so it stays on the image, its log γ through r·tanh(·/r) (r = `gamma_range`), and its side
  is at least `window_floor` of its bound. Unconfined, training parks glimpses where no gradient
  reaches them again (off the image, faded, shrunk to nothing); the limits close those ways of
  switching a glimpse off (docs/big-pictures.md has the measurements).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

# The paper's filter rows are normalised by their sum plus this, kept away from zero when every
# filter weight underflows.
PAPER_EPS = 1e-8
# σ/δ of a local window lies in [SPREAD_MIN, SPREAD_MAX]. Below 0.5 the summed filters leave
# gaps; above ~0.9 they sag by over 4% from the second filter centre to the window's middle.
SPREAD_MIN, SPREAD_MAX = 0.5, 0.9
# Keeps a local filter finite when its stride underflows to 0 (σ ≥ 0.001 px).
TINY_VAR = 1e-6
# Shown on a grid finer than the training image, a local stroke is widened by a Gaussian of this σ
# (in training pixels), at most: the network only ever saw its strokes at pixel centres, and
# strokes finer than a pixel, drawn finely, read as speckle between them (camera.png at 48 px, 4×).
DISPLAY_BLUR = 0.5
# Where a confined write window's limits flatten (raw values): tanh(2) = 0.96 of the way to an
# edge, sigmoid(−3) = 0.05 of the way above the least side, tanh(1.5) = 0.9 of the way to the
# faintest ink. Past them the window's gradient is under a fifth of its most.
LIMIT_KNEES = (2.0, 3.0, 1.5)


def display_blur(scale: float) -> float:
    """The variance (training pixels²) added to a local stroke drawn at `scale` times the training size.

    λ²(1 − 1/s²): 0 at the training size, so a drawing there is exactly what was trained, and
    growing smoothly to λ² as the grid gets finer. Ink is kept: each filter keeps its area.
    """
    return DISPLAY_BLUR**2 * max(0.0, 1 - 1 / scale**2)


class Window(NamedTuple):
    """A filter grid in 0-based pixels of the training image; each field is (batch, 1)."""

    gx: object
    gy: object
    delta: object  # stride between filter centres
    var: object  # σ², the variance of every filter
    gamma: object  # intensity: the read multiplies by it, the write divides by it

    @property
    def sigma(self) -> object:
        from keras import ops

        return ops.sqrt(self.var)


def side_bound(t: object, max_window: float, reach: int, taper: int = 0) -> object:
    """The largest window side at glimpse t (0-based), as a share of the image's longest side.

    The first `reach` glimpses may span the whole image, so the drawing is blocked in with broad
    strokes. Over the next `taper` glimpses the bound narrows geometrically from the whole image
    towards `max_window`, and from glimpse `reach + taper` on it is `max_window`, so the rest is
    drawn locally. `t` may be a Python int, an array or a tensor.
    """
    from keras import ops

    if taper <= 0:  # one step, the bound drops at once after the block-in
        return max_window if reach <= 0 else ops.where(ops.less(t, reach), 1.0, max_window)
    t = ops.cast(ops.convert_to_tensor(t), "float32")
    narrowed = ops.clip((t - reach + 1) / (taper + 1), 0.0, 1.0)
    return ops.where(ops.less(t, reach), 1.0, ops.power(max_window, narrowed))


class WindowType:
    """How raw window parameters become a grid of filters, and how a filter is normalised."""

    name: str
    raw_start: tuple[float, ...]  # where a head's five raw numbers start (its dense layer's bias)
    bounded: bool  # whether its windows follow the block-in, taper and bound (`--max-window` ...)
    smooth: bool  # whether its drawings are shown with strokes drawn at the output size by default

    def window(self, bank, params, t) -> Window:
        """The grid (Keras ops) that the raw parameters (batch, 5) describe at glimpse t for the
        filterbank `bank` (its n, width, height, head and limits)."""
        raise NotImplementedError

    def spread_at(self, var, scale: float):
        """A filter's variance as drawn at `scale` times the training size."""
        return var

    def overshoot(self, bank, params, t):
        """(batch,) how far a write window's raw parameters sit past its limits' knees, squared and
        summed: 0 for a window type without limits."""
        from keras import ops

        return ops.zeros(ops.shape(params)[:1])

    def normalised(self, bank, weights, var, window: Window):
        """Filter rows (Keras ops) from their Gaussian weights over the pixels."""
        raise NotImplementedError

    def sigma_at(self, sigma: float, scale: float) -> float:
        """A filter's spread (training pixels) as drawn at `scale` times the training size (numpy side)."""
        return sigma

    def rows(self, weights: np.ndarray, sigma: float, stride: float, scale: float) -> np.ndarray:
        """Write filter rows (numpy, for a redraw) from their Gaussian weights over the output's
        pixels; `sigma` and `stride` in training pixels."""
        raise NotImplementedError


class PaperWindow(WindowType):
    """Gregor et al.'s window: [g̃x, g̃y, log σ², log δ̃, log γ], rows summing to 1 over the image."""

    name, raw_start, bounded, smooth = "paper", (0.0, 0.0, 0.0, 0.0, 0.0), False, False

    def window(self, bank, params, t) -> Window:
        from keras import ops

        gx_raw, gy_raw, spread_raw, stride_raw, log_gamma = ops.split(params, 5, axis=-1)
        a, b, n = bank.width, bank.height, bank.n
        gx = (a + 1) / 2 * (gx_raw + 1) - 1
        gy = (b + 1) / 2 * (gy_raw + 1) - 1
        delta = (max(a, b) - 1) / (n - 1) * ops.exp(stride_raw)
        return Window(gx, gy, delta, ops.exp(spread_raw), ops.exp(log_gamma))

    def normalised(self, bank, weights, var, window: Window):
        from keras import ops

        return bank.grid_scale * weights / (ops.sum(weights, axis=-1, keepdims=True) + PAPER_EPS)

    def rows(self, weights: np.ndarray, sigma: float, stride: float, scale: float) -> np.ndarray:
        return scale * weights / (weights.sum(axis=1, keepdims=True) + PAPER_EPS)


class LocalWindow(WindowType):
    """Bounded, gap-free windows: [g̃x, g̃y, spread, stride, log γ]; each filter of unit area
    (a write's times δ, so a patch value is the same ink at any stroke size)."""

    # Local windows start wide (stride sigmoid(2) = 0.88 of their bound), as the paper's start at
    # the whole image: started at half their bound they drew 1 dB less after 1000 steps.
    name, raw_start, bounded, smooth = "local", (0.0, 0.0, 0.0, 2.0, 0.0), True, True

    def window(self, bank, params, t) -> Window:
        from keras import ops

        gx_raw, gy_raw, spread_raw, stride_raw, log_gamma = ops.split(params, 5, axis=-1)
        a, b, n = bank.width, bank.height, bank.n
        share = ops.sigmoid(stride_raw)  # of the bound
        if bank.head == "write":
            places = self.places(bank, t)
            gx_raw, gy_raw = gx_raw + places[:, :1], gy_raw + places[:, 1:]
            if bank.confined:
                gx_raw, gy_raw = ops.tanh(gx_raw), ops.tanh(gy_raw)
                log_gamma = bank.gamma_range * ops.tanh(log_gamma / bank.gamma_range)
                share = bank.window_floor + (1 - bank.window_floor) * share
        # g̃ = ±1 are the image's outer edges; 0 its centre, as in the paper.
        gx = a / 2 * (gx_raw + 1) - 0.5
        gy = b / 2 * (gy_raw + 1) - 0.5
        bound = side_bound(t, bank.max_window, bank.reach, bank.taper)
        delta = bound * max(a, b) / n * share
        spread = SPREAD_MIN + (SPREAD_MAX - SPREAD_MIN) * ops.sigmoid(spread_raw)
        var = ops.square(spread * delta) + TINY_VAR
        return Window(gx, gy, delta, var, ops.exp(log_gamma))

    def spread_at(self, var, scale: float):
        return var + display_blur(scale)

    @staticmethod
    def places(bank, t):
        """(glimpses of t, 2): where glimpse t's write window starts (filterbank.starting_places),
        added to its raw centre."""
        from keras import ops

        return ops.take(
            ops.convert_to_tensor(bank.places), ops.reshape(ops.convert_to_tensor(t, "int32"), (-1,)), axis=0
        )

    def overshoot(self, bank, params, t):
        """Past the knees of its tanh and sigmoid (`LIMIT_KNEES`) a confined write window's gradient
        all but vanishes, so a glimpse parked at its limits (an edge, the least side, the faintest
        ink) never comes back (docs/every-glimpse.md); `window_margin` charges for the overshoot.
        Only the ways out are charged: towards the edge, the least side and the faintest ink."""
        from keras import ops

        if bank.head != "write" or not bank.confined:
            return super().overshoot(bank, params, t)
        gx, gy, _, stride, log_gamma = ops.split(params, 5, axis=-1)
        places = self.places(bank, t)
        centre, side, ink = LIMIT_KNEES
        past = (
            ops.relu(ops.abs(gx + places[:, :1]) - centre),
            ops.relu(ops.abs(gy + places[:, 1:]) - centre),
            ops.relu(-stride - side),
            ops.relu(log_gamma / bank.gamma_range - ink),
        )
        return ops.sum(sum(ops.square(v) for v in past), axis=-1)

    def sigma_at(self, sigma: float, scale: float) -> float:
        return math.sqrt(sigma**2 + display_blur(scale))

    def normalised(self, bank, weights, var, window: Window):
        from keras import ops

        area = math.sqrt(2 * math.pi) * ops.sqrt(var)[:, :, None]
        if bank.head == "write":
            area = area / window.delta[:, :, None]
        return weights / area

    def rows(self, weights: np.ndarray, sigma: float, stride: float, scale: float) -> np.ndarray:
        # a Gaussian of unit area in training pixels, times the stride: resolution-free
        return weights * (stride / sigma) / math.sqrt(2 * math.pi)


WINDOW_TYPES: dict[str, WindowType] = {kind.name: kind for kind in (LocalWindow(), PaperWindow())}


def axis_filters(centre: float, window: dict, n: int, size: int, scale: float, longest: int, kind: str) -> np.ndarray:
    """(N, size) filter rows along one axis of the output grid, as docs/strokes-schema.md writes them.

    `centre` is the window's centre in training pixels from the image's edge (x·W or y·H). Output
    pixel j's centre is at j + 0.5 output pixels from the edge, and filter i's at
    μ_i = (centre + (i − (N−1)/2)·stride·L)·scale, with σ·L·scale its spread (L: longest side);
    a local stroke's σ·L widened to √((σ·L)² + display_blur(scale)).
    """
    mu = (centre + (np.arange(n) - (n - 1) / 2) * window["stride"] * longest) * scale
    window_type = WINDOW_TYPES[kind]
    sigma = window_type.sigma_at(window["sigma"] * longest, scale)  # training pixels
    weights = np.exp(-(((np.arange(size) + 0.5)[None, :] - mu[:, None]) ** 2) / (2 * (sigma * scale) ** 2))
    return window_type.rows(weights, sigma, window["stride"] * longest, scale)
