"""What a model draws, as frames: the bridge between DrawModel (TensorFlow) and picture.py, formats.py (numpy).

The milestone callback during fit and `drawart gif` afterwards both go through `reconstruction_frames`
here with the same options, so they produce the same frames from the same weights. A set of images
(K, H, W, C) is redrawn in step in one grid, laid out as `drawart sample` lays out its drawings from
the prior: both go through `_grid_frames`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING

import numpy as np

from drawart import formats, picture
from drawart.checkpoints import step_name
from drawart.config import RenderConfig, _build, smooth_by_default

if TYPE_CHECKING:  # the model needs TensorFlow, which this module does not load
    from drawart.model import DrawModel


def output_name(step: int | None, options: RenderConfig, fmt: str, samples: int = 0, smooth: bool = True) -> str:
    """step-0005000.gif for the defaults; other options add a suffix so no render replaces another.

    `smooth` is the run's own default (config.smooth_by_default): only a render that differs from
    it says so in its name, so a paper-window run's default GIFs keep the names 0.1.0 gave them.

    A grid of `samples` drawings from the prior is named by its count and always by its seed:
    step-0005000-16samples-seed0.gif.
    """
    defaults = RenderConfig()
    parts = [step_name(step) if step is not None else "evolution"]
    if samples:
        parts.append(f"{samples}samples")
    if not options.boxes and defaults.boxes:
        parts.append("noboxes")
    if options.side_by_side:
        parts.append("side")
    if options.render_size:
        parts.append(f"{options.render_size}px")
    elif options.smooth is not None and options.smooth != smooth:
        parts.append("smooth" if options.smooth else "nearest")
    if options.scale:
        parts.append(f"x{options.scale}")
    if options.seed != defaults.seed or samples:
        parts.append(f"seed{options.seed}")
    if formats.FORMATS[fmt].animated and (options.frame_ms, options.hold_ms) != (defaults.frame_ms, defaults.hold_ms):
        parts.append(
            f"{options.frame_ms}ms" + (f"-hold{options.hold_ms}ms" if options.hold_ms != defaults.hold_ms else "")
        )
    return "-".join(parts) + formats.FORMATS[fmt].suffix


def output_record(options: RenderConfig, fmt: str, steps: list[int]) -> dict:
    """What made an output file, stored beside it (run.write_with_record): `drawart gif` skips a
    file whose record matches what it would make now (see `made_alike`)."""
    from drawart import __version__

    return {"format": fmt, "steps": [int(s) for s in steps], "render": asdict(options), "drawart": __version__}


def made_alike(record: dict | None, options: RenderConfig, fmt: str, steps: list[int]) -> bool:
    """Whether a stored record says its file is what `options`, `fmt` and `steps` make now.

    A record's render options are read as config.json's sections are: a field it lacks takes the
    value that reproduces the release that wrote it (compat.ABSENT), so an older file never passes
    for one made with a newer default.
    """
    if not isinstance(record, dict):
        return False
    try:
        made = _build(RenderConfig, record.get("render"))
    except ValueError:
        return False
    return record.get("format") == fmt and record.get("steps") == [int(s) for s in steps] and made == options


def grid_scale(model: DrawModel, options: RenderConfig) -> float:
    """How much finer than the training grid to evaluate the write filters (1: not at all)."""
    if not options.render_size:
        return 1.0
    return options.render_size / max(model.config.height, model.config.width)


def at_output_size(model: DrawModel, options: RenderConfig, count: int = 0) -> RenderConfig:
    """`options` with `smooth` spelled out: an attention model's write filters evaluated at the size
    the drawing is shown at (render_size) instead of upscaling its pixels (scale 1).

    `count` drawings are laid out in one grid as `grid_layout` does (0: one drawing alone). The
    factor is the upscale the drawing would otherwise get, so the frames keep their size.
    """
    cfg = model.config
    if options.smooth is None:
        options = replace(options, smooth=smooth_by_default(cfg))
    if not options.smooth or options.render_size or not cfg.attention:
        return options
    if count:
        factor = grid_layout(count, cfg.height, cfg.width, options)[1]
    else:
        factor = upscale_factor(cfg.height, cfg.width, options)
    if factor == 1:
        return options
    return replace(options, render_size=max(cfg.height, cfg.width) * factor, scale=1)


def windows(params: np.ndarray, n: int, model: DrawModel, scale: float, head: str | None = None) -> np.ndarray:
    """Raw attention parameters (T, 5) of glimpses 0..T−1 → (T, 4) boxes (gx, gy, δ, σ) in
    rendered-canvas pixels, through the model's own window parametrisation.

    `head` is "read" or "write"; by default the head whose grid has `n` filters (write if both do).
    """
    cfg = model.config
    head = head or ("read" if n == cfg.read_n != cfg.write_n else "write")
    bank = (model.reader if head == "read" else model.writer).filterbank
    params = np.asarray(params, "float32")
    window = bank.window(params, np.arange(len(params))[:, None])
    gx, gy, delta, sigma = (np.asarray(v)[:, 0] for v in (window.gx, window.gy, window.delta, window.sigma))
    # A 0-based pixel centre c on the training grid is at (c + 0.5)·s − 0.5 on a grid s times finer.
    return np.stack([(gx + 0.5) * scale - 0.5, (gy + 0.5) * scale - 0.5, delta * scale, sigma * scale], axis=1)


def upscale_factor(height: int, width: int, options: RenderConfig) -> int:
    return options.scale or picture.default_scale(height, width, options.min_side)


def grid_layout(count: int, height: int, width: int, options: RenderConfig) -> tuple[int, int]:
    """(columns, upscale) of a grid of `count` drawings of height × width: ceil(√count) columns.

    Without --scale the whole grid of drawings (not each one, and not the targets beside them) is
    upscaled until its longest side reaches `options.min_side`, so 16 drawings stay a sensible size.
    """
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    return columns, options.scale or picture.default_scale(rows * height, columns * width, options.min_side)


def target_at(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """The training image(s) (..., H, W, C) at the rendered canvas size (nearest pixel: the pixels the model saw)."""
    rows = np.minimum((np.arange(height) + 0.5) * pixels.shape[-3] / height, pixels.shape[-3] - 1).astype(int)
    cols = np.minimum((np.arange(width) + 0.5) * pixels.shape[-2] / width, pixels.shape[-2] - 1).astype(int)
    return np.take(np.take(pixels, rows, axis=-3), cols, axis=-2)


def reconstruction_frames(model: DrawModel, pixels: np.ndarray, options: RenderConfig) -> np.ndarray:
    """uint8 frames of the model redrawing `pixels`, one per canvas σ(c_0..c_T).

    `pixels` is one image (H, W, C), or a set (K, H, W, C) whose K reconstructions are drawn in
    step in one grid, each cell with its own boxes (and, side by side, its own target).
    """
    options = at_output_size(model, options, len(pixels) if np.ndim(pixels) == 4 else 0)
    scale = grid_scale(model, options)
    traced = model.trace(pixels, seed=options.seed, grid_scale=scale, keep=picture.to_uint8)
    if np.ndim(pixels) == 4:
        return _grid_frames(model, traced, pixels, options, scale)
    return _frames(model, traced, pixels, options, scale)


def _frames(model, traced: dict, pixels, options: RenderConfig, scale: float) -> np.ndarray:
    canvases = traced["canvases"]
    height, width = canvases.shape[1:3]
    boxes = {}
    if options.boxes and traced.get("write") is not None:
        cfg = model.config
        boxes["write_boxes"] = windows(traced["write"], cfg.write_n, model, scale, "write")
        boxes["write_n"] = cfg.write_n
        if traced.get("read") is not None:
            boxes["read_boxes"] = windows(traced["read"], cfg.read_n, model, scale, "read")
            boxes["read_n"] = cfg.read_n
    target = target_at(pixels, height, width) if options.side_by_side and pixels is not None else None
    upscale = upscale_factor(height, width, options)
    return picture.drawing_frames(canvases, scale=upscale, target=target, gap=2 * upscale * _finer(scale), **boxes)


def sample_frames(model: DrawModel, count: int, options: RenderConfig) -> np.ndarray:
    """uint8 frames of `count` drawings from the prior, drawn in step, in a grid (see `grid_layout`).

    The noise comes from `options.seed`. There is no target, so no side by side.
    """
    options = at_output_size(model, options, count)
    scale = grid_scale(model, options)
    drawn = model.generate(count, seed=options.seed, grid_scale=scale, keep=picture.to_uint8)
    return _grid_frames(model, drawn, None, options, scale)


def _grid_frames(model, traced: dict, pixels, options: RenderConfig, scale: float) -> np.ndarray:
    """K drawings made in step (K on axis 1 of every traced array) as one animation of grids.

    `pixels` (K, H, W, C) are the targets for side by side, or None (drawings from the prior).
    """
    count, height, width = traced["canvases"].shape[1:4]
    columns, upscale = grid_layout(count, height, width, options)
    each = replace(options, scale=upscale)
    targets = [None] * count if pixels is None else pixels
    cells = [
        _frames(model, {key: value[:, k] for key, value in traced.items()}, targets[k], each, scale)
        for k in range(count)
    ]
    return picture.tile(np.stack(cells), columns, gap=2 * upscale * _finer(scale))


def _finer(scale: float) -> int:
    """Gaps between pictures grow with the grid the filters are evaluated on, as they do with the
    upscale: a smooth render is laid out as the blocky one of the same size."""
    return max(1, round(scale))


def encode(frames: np.ndarray, fmt: str, options: RenderConfig, labels: list[str] | None = None) -> bytes:
    """Frames → file bytes in one of formats.FORMATS."""
    durations = formats.frame_durations(len(frames), options.frame_ms, options.hold_ms)
    return formats.FORMATS[fmt].encode(frames, durations, labels)


def evolution_frames(
    model: DrawModel, pixels: np.ndarray, weights: list[tuple[int, Callable[[], None]]], options: RenderConfig
) -> np.ndarray:
    """One labelled frame per milestone: the finished drawing after each (step, restore) in order.

    `restore()` loads that milestone's weights into `model`. For a set (K, H, W, C) each frame is
    the grid of the K finished drawings, laid out as in `reconstruction_frames`; side by side, the
    grid of targets is on the left of it.
    """
    options = at_output_size(model, options, len(pixels) if np.ndim(pixels) == 4 else 0)
    scale = grid_scale(model, options)
    finals = []
    for _, restore in weights:
        restore()
        finals.append(model.trace(pixels, seed=options.seed, grid_scale=scale, keep=picture.to_uint8)["canvases"][-1])
    finals = np.stack(finals)  # (milestones, [K,] H', W', C)
    height, width = finals.shape[-3:-1]
    target = target_at(pixels, height, width) if options.side_by_side else None
    if np.ndim(pixels) == 4:
        columns, upscale = grid_layout(len(pixels), height, width, options)
        # Tiled before upscaling: a 2-pixel gutter becomes the 2·upscale one of the drawing grid.
        gap = 2 * _finer(scale)
        finals = picture.tile(np.moveaxis(finals, 1, 0), columns, gap=gap)
        target = None if target is None else picture.tile(picture.to_uint8(target), columns, gap=gap)
    else:
        upscale = upscale_factor(height, width, options)
    steps = [step for step, _ in weights]
    return picture.evolution_frames(finals, steps, scale=upscale, target=target, gap=2 * upscale * _finer(scale))
