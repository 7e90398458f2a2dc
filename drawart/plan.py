"""What a run will cost, said before and after its first call: time to its last step, the disk
its milestones take, and the memory a step needs (refused up front when the machine lacks it).

Estimates from the configuration alone, numpy only: no TensorFlow, so `fit` can refuse a size
before anything is written.
"""

from __future__ import annotations

import os

from drawart.config import ModelConfig, RenderConfig, RunConfig

FLOAT = 4  # bytes
# Image-sized tensors a training step keeps, at the least, for every glimpse's backward pass: the
# canvas, σ(canvas) and the write's update. A lower bound (XLA keeps more, and temporaries), so a
# size refused by it is certainly too big; one let through may still run out of memory.
CANVAS_COPIES = 3
GIF_BYTES_PER_PIXEL = 0.6  # a milestone GIF, per output pixel per frame (camera and chelsea at 256 px)
STROKE_BYTES_PER_VALUE = 11  # a patch value written as its shortest exact decimal, with separators


def weight_count(model: ModelConfig) -> int:
    """The number of weights of the DRAW network of `model` (paper eqs. 3–8 and the heads)."""
    pixels = model.height * model.width * model.channels
    read = 2 * model.channels * model.read_n**2 if model.attention else 2 * pixels
    write = model.channels * model.write_n**2 if model.attention else pixels
    lstm = lambda inputs: 4 * model.hidden * (inputs + model.hidden + 1)
    heads = 2 * 5 * (model.hidden + 1) if model.attention else 0
    return (
        lstm(read + model.hidden)
        + lstm(model.z)
        + 2 * model.z * (model.hidden + 1)
        + write * (model.hidden + 1)
        + heads
        + model.channels
    )


def step_memory(config: RunConfig) -> int:
    """Bytes a training step needs at the least: the image-sized work of every glimpse kept for
    the backward pass, and the weights with their average and Adam's two moments."""
    model = config.model
    canvas = model.height * model.width * model.channels * config.train.batch
    return FLOAT * (CANVAS_COPIES * canvas * (model.glimpses + 1) + 4 * weight_count(model))


def machine_memory() -> int | None:
    """This machine's physical memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_problem(config: RunConfig, size: int) -> str | None:
    """One line refusing `config` when even the least memory its step needs exceeds this machine's."""
    need, have = step_memory(config), machine_memory()
    if have is None or need <= have:
        return None
    model = config.model
    return (
        f"--size {size} makes a {model.width}×{model.height} model whose training step needs at least "
        f"{size_text(need)} of memory, and this machine has {size_text(have)}: use a smaller --size"
    )


def milestone_bytes(config: RunConfig) -> int:
    """The disk one milestone takes: the drawing's weights, its GIF and its strokes."""
    model, render = config.model, RenderConfig()
    side = max(model.height, model.width)
    upscale = max(1, -(-render.min_side // side))
    frames = (model.glimpses + 1) * model.height * model.width * upscale**2
    strokes = STROKE_BYTES_PER_VALUE * model.channels * model.write_n**2 * model.glimpses if model.attention else 0
    return FLOAT * weight_count(model) + int(GIF_BYTES_PER_PIXEL * frames) + strokes


def checkpoint_bytes(config: RunConfig) -> int:
    """The disk the kept checkpoints take: weights, their average and Adam's two moments, each."""
    return config.train.keep_checkpoints * 4 * FLOAT * weight_count(config.model)


def milestones_between(start: int, steps: int, every: int) -> int:
    return steps // every - start // every if every else 0


def size_text(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError


def duration_text(seconds: float) -> str:
    """About how long: '40 s', '12 min', '3.5 h', '2.1 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def plan_line(config: RunConfig, start: int, step: int, steps_per_second: float, kept_milestones: int) -> str:
    """After the first compiled calls: the speed, the time to --steps, the milestones and their disk."""
    train = config.train
    left = max(train.steps - step, 0) / steps_per_second
    coming = milestones_between(start, train.steps, train.gif_every)  # those made since the start too
    total = kept_milestones + coming
    disk = total * milestone_bytes(config) + checkpoint_bytes(config)
    milestones = f"{total} milestones (every {train.gif_every} steps)" if train.gif_every else "no milestones"
    return (
        f"plan: {steps_per_second:.1f} steps/s here, step {train.steps} in about {duration_text(left)}; "
        f"{milestones} and checkpoints, about {size_text(disk)} on disk"
    )
