"""Shared fixtures: tiny images written on the fly, so tests need no files in the repo."""

import os
import tempfile

import numpy as np
import pytest
from PIL import Image

# Tests never write the user's cache: XLA's compiled code and compile times go to the session's own.
os.environ.setdefault("DRAWART_XLA_CACHE", tempfile.mkdtemp(prefix="drawart-xla-"))


def gray_gradient(width: int = 24, height: int = 16) -> np.ndarray:
    """A uint8 (height, width) left-to-right ramp plus a little vertical variation."""
    x = np.linspace(0, 200, width)[None, :]
    y = np.linspace(0, 50, height)[:, None]
    return (x + y).astype(np.uint8)


def colourful(width: int = 20, height: int = 12) -> np.ndarray:
    """A uint8 (height, width, 3) image whose channels all differ."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 255 // (width - 1), yy * 255 // (height - 1), (xx + yy) * 7 % 256], axis=2).astype(np.uint8)


@pytest.fixture
def tiny_gray_png(tmp_path):
    """Path of a 24x16 gray gradient PNG (mode L)."""
    path = tmp_path / "gray.png"
    Image.fromarray(gray_gradient()).save(path)
    return path


@pytest.fixture
def tiny_rgb_png(tmp_path):
    """Path of a 20x12 colourful RGB PNG."""
    path = tmp_path / "rgb.png"
    Image.fromarray(colourful()).save(path)
    return path


def digits_images(count: int | None = None) -> np.ndarray:
    """scikit-learn's bundled 8x8 digits (0..16) as uint8 0..255, shape (count or 1797, 8, 8); no download."""
    from sklearn.datasets import load_digits

    images = load_digits().images[:count]
    return np.round(images * 255 / 16).astype(np.uint8)


@pytest.fixture
def digits_npz(tmp_path):
    """Path of digits.npz holding one array, `images`: all 1797 digits as uint8."""
    path = tmp_path / "digits.npz"
    np.savez(path, images=digits_images())
    return path


def tiny_model_config(**changes):
    """A DRAW small enough to build and run in milliseconds: 6×9 pixels, 4 glimpses, 8 units."""
    from drawart.config import ModelConfig

    fields = dict(height=6, width=9, channels=1, glimpses=4, read_n=2, write_n=3, hidden=8, z=3)
    return ModelConfig(**{**fields, **changes})


def set_raw_window(head, raw):
    """Make every glimpse's raw window parameters of an attention head (model.reader or
    model.writer) the five numbers `raw`, whatever h_dec: a zero kernel and the bias that the
    head's window rate scales to `raw`."""
    import numpy as np

    kernel, _ = head.params.get_weights()
    head.params.set_weights([np.zeros_like(kernel), np.asarray(raw, "float32") / head.window_rate])


@pytest.fixture
def repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent


def assert_one_line(err) -> str:
    message = str(err.value) if hasattr(err, "value") else str(err)
    assert message and "\n" not in message
    return message
