"""The drawn-strokes measures: pixels changed per glimpse, window share and ripple per glimpse."""

import math

import numpy as np
import pytest
from conftest import tiny_model_config

from drawart import strokes, train
from drawart.config import TrainConfig
from drawart.progress import psnr


def test_changed_counts_visible_changes_per_glimpse():
    canvases = np.zeros((3, 2, 5, 3))
    canvases[1, 0, :2] = 3 / 255  # glimpse 1 changes 2 of 10 pixels visibly (one channel is enough)
    canvases[2] = canvases[1]
    canvases[2, 1, 0, 0] += 1 / 255  # glimpse 2 changes one pixel, invisibly
    np.testing.assert_allclose(strokes.changed_per_glimpse(canvases), [0.2, 0.0])


def test_measure_reports_every_glimpse_of_a_model():
    config = tiny_model_config(
        height=12, width=16, glimpses=6, write_n=4, window="local", block_in=2, taper=0, max_window=0.25
    )
    model = train.build_model(config, TrainConfig(jit_compile=False))
    pixels = np.random.default_rng(0).random((12, 16, 1)).astype("float32")
    measured = strokes.measure(model, pixels)
    assert measured.share.shape == measured.ripple.shape == measured.changed.shape == (6,)
    # After the block-in the window's side is at most 0.25 of the longest side.
    assert (measured.share[2:] <= 0.25**2 * 16 / 12 + 1e-6).all()
    assert (measured.ripple <= 1.05).all()
    final = model.trace(pixels)["canvases"][-1]
    assert measured.psnr == pytest.approx(psnr(final, pixels))
    summary = measured.summary(skip=2)
    assert summary["share"] == pytest.approx(float(np.median(measured.share[2:])))
    assert summary["ripple"] == pytest.approx(float(measured.ripple.max()))


def test_the_papers_wide_gappy_window_measures_as_such():
    config = tiny_model_config(height=32, width=32, glimpses=2, write_n=8, window="paper")
    model = train.build_model(config, TrainConfig(jit_compile=False))
    delta = 31 / 7
    raw = np.array([[0.0, 0.0, 2 * math.log(0.3 * delta), 0.0, 0.0]] * 2, "float32")
    share, ripple, _, _ = strokes.write_measures(model, raw)
    assert share == pytest.approx([1.0, 1.0])
    assert (ripple > 1.5).all()
