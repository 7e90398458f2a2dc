"""A window's Gaussian filters in numpy, on any output grid: the formula the strokes schema gives.

The Keras filterbank (filterbank.py) makes the same filters for training, and the run's page
(page.js) for the browser; tests hold the three to one another. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math

import numpy as np

# The paper's filter rows are normalised by their sum plus this, kept away from zero when every
# filter weight underflows.
PAPER_EPS = 1e-8

# Shown on a grid finer than the training image, a local stroke is widened by a Gaussian of this σ
# (in training pixels), at most: the network only ever saw its strokes at pixel centres, and
# strokes finer than a pixel, drawn finely, read as speckle between them (camera.png at 48 px, 4×).
DISPLAY_BLUR = 0.5


def display_blur(scale: float) -> float:
    """The variance (training pixels²) added to a local stroke drawn at `scale` times the training size.

    λ²(1 − 1/s²): 0 at the training size, so a drawing there is exactly what was trained, and
    growing smoothly to λ² as the grid gets finer. Ink is kept: each filter keeps its area.
    """
    return DISPLAY_BLUR**2 * max(0.0, 1 - 1 / scale**2)


def axis_filters(centre: float, window: dict, n: int, size: int, scale: float, longest: int, kind: str) -> np.ndarray:
    """(N, size) filter rows along one axis of the output grid, as docs/strokes-schema.md writes them.

    `centre` is the window's centre in training pixels from the image's edge (x·W or y·H). Output
    pixel j's centre is at j + 0.5 output pixels from the edge, and filter i's at
    μ_i = (centre + (i − (N−1)/2)·stride·L)·scale, with σ·L·scale its spread (L: longest side);
    a local stroke's σ·L widened to √((σ·L)² + display_blur(scale)).
    """
    mu = (centre + (np.arange(n) - (n - 1) / 2) * window["stride"] * longest) * scale
    sigma = window["sigma"] * longest  # training pixels
    if kind == "local":
        sigma = math.sqrt(sigma**2 + display_blur(scale))
    weights = np.exp(-(((np.arange(size) + 0.5)[None, :] - mu[:, None]) ** 2) / (2 * (sigma * scale) ** 2))
    if kind == "paper":  # each row sums to `scale` over the output's pixels
        return scale * weights / (weights.sum(axis=1, keepdims=True) + PAPER_EPS)
    # local: a Gaussian of unit area in training pixels, times the stride: resolution-free
    return weights * (window["stride"] * longest / sigma) / math.sqrt(2 * math.pi)
