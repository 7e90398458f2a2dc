"""Output formats, in one registry: what `drawart gif --format` and `sample --format` write.

A new format is one entry of FORMATS: its name, file suffix, whether its frames have durations,
and an encoder from uint8 frames (N, H, W, C) to bytes (nothing here writes files, so callers
write atomically); `encoder_problem` says, in one line, what a missing optional encoder needs.
"""

import importlib
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, features

from drawart.errors import DrawartError
from drawart.gif import encode_gif
from drawart.picture import BACKGROUND, as_frames, text_image, tile, to_rgb

# Lossless WebP: quality is the effort spent on size. On a 33-frame 512-px render 100 took 5.5 s
# for 1,057 KiB, 50 took 2.2 s for 1,098 KiB.
WEBP_QUALITY = 50
WEBP_METHOD = 4


def frame_durations(n_frames: int, frame_ms: int = 60, hold_ms: int = 1500) -> list[int]:
    """Per-frame durations in ms: every frame frame_ms, the last held hold_ms so the result can be seen."""
    if n_frames <= 0:
        return []
    return [int(frame_ms)] * (n_frames - 1) + [int(hold_ms)]


def encode_webp(
    frames_uint8: np.ndarray, durations_ms: Sequence[int], lossless: bool = True, quality: int | None = None
) -> bytes:
    """Animated WebP bytes in full colour, looping forever, with Pillow's writer (libwebp).

    libwebp drops a frame identical to the one before it and adds its duration to that one (it
    has no option to keep it), so the animation plays the same but may hold fewer frames.
    """
    problem = encoder_problem("webp")
    if problem:
        raise DrawartError(problem)
    frames = as_frames(frames_uint8)
    if len(durations_ms) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(durations_ms)} durations")
    mode = "L" if frames.shape[-1] == 1 else "RGB"
    images = [Image.fromarray(frame[..., 0] if mode == "L" else frame, mode) for frame in frames]
    buf = io.BytesIO()
    images[0].save(
        buf,
        format="WEBP",
        save_all=True,
        append_images=images[1:],
        loop=0,
        duration=[int(ms) for ms in durations_ms],
        lossless=lossless,
        quality=WEBP_QUALITY if quality is None else quality,
        method=WEBP_METHOD,
    )
    return buf.getvalue()


def encode_png_sheet(
    frames_uint8: np.ndarray, columns: int | None = None, labels: Sequence[str] | None = None
) -> bytes:
    """PNG bytes of all frames in a grid (row-major), white 4-px gaps, optional label under each frame.

    Size: columns·w + (columns+1)·4 wide, rows·(h + label_h) + (rows+1)·4 high, where label_h
    is 0 without labels. columns defaults to ceil(sqrt(n)).
    """
    frames = as_frames(frames_uint8)
    n, h, w, c = frames.shape
    if labels is not None and len(labels) != n:
        raise ValueError(f"{n} frames but {len(labels)} labels")
    texts = [None if labels is None or labels[i] is None else text_image(str(labels[i]), 12) for i in range(n)]
    label_h = max((t.shape[0] for t in texts if t is not None), default=0)
    cells = np.full((n, h + label_h, w, c), BACKGROUND, np.uint8)
    cells[:, :h] = frames
    for cell, text in zip(cells, texts):
        if text is not None:
            tw = min(text.shape[1], w)
            cell[h : h + text.shape[0], :tw] = text[:, :tw, None]
    sheet = tile(cells, columns or math.ceil(math.sqrt(n)), gap=4)
    buf = io.BytesIO()
    Image.fromarray(sheet[..., 0] if c == 1 else sheet, "L" if c == 1 else "RGB").save(buf, format="PNG")
    return buf.getvalue()


def _even(frames):
    """Pad (N,H,W,C) by one edge-replicated pixel on the bottom/right where H or W is odd (H.264 needs even)."""
    ph, pw = frames.shape[1] % 2, frames.shape[2] % 2
    return np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else frames


def encoder_problem(fmt: str) -> str | None:
    """Why `fmt` cannot be written with what is installed here, in one line saying what to do; else None."""
    if fmt == "mp4":
        try:
            importlib.import_module("imageio_ffmpeg")
        except ImportError:
            return "MP4 output needs the optional imageio-ffmpeg package: pip install 'drawart[mp4]'"
    if fmt == "webp" and not features.check("webp"):
        return "WebP output needs a Pillow built with libwebp (pip's Pillow wheels have it): pip install -U pillow"
    return None


def mp4_timing(durations_ms: Sequence[int]) -> tuple[float, np.ndarray]:
    """(fps, repeats): MP4 has one frame rate, so each frame is shown for its duration by repeating
    it at the rate of the shortest one (H.264 stores a repeat almost free). The hold at the end
    is kept within half a frame."""
    durations = np.asarray(durations_ms, dtype=float)
    if durations.ndim != 1 or len(durations) == 0 or (durations <= 0).any():
        raise ValueError(f"durations must be positive milliseconds, one per frame, got {durations_ms!r}")
    base = durations.min()
    return 1000.0 / base, np.maximum(1, np.rint(durations / base)).astype(int)


def encode_mp4(frames_uint8: np.ndarray, durations_ms: Sequence[int]) -> bytes:
    """H.264 MP4 bytes via imageio's ffmpeg plugin (optional dependency imageio-ffmpeg)."""
    problem = encoder_problem("mp4")
    if problem:
        raise DrawartError(problem)
    import imageio.v3 as iio

    frames = _even(to_rgb(as_frames(frames_uint8)))
    if len(durations_ms) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(durations_ms)} durations")
    fps, repeats = mp4_timing(durations_ms)
    return iio.imwrite(
        "<bytes>",
        np.repeat(frames, repeats, axis=0),
        extension=".mp4",
        plugin="FFMPEG",
        fps=fps,
        codec="libx264",
        pixelformat="yuv420p",
        macro_block_size=1,
    )


@dataclass(frozen=True)
class Format:
    """An output format: `encode(frames, durations_ms, labels)` gives the file's bytes."""

    name: str
    suffix: str
    animated: bool  # whether its frames have durations (--frame-ms, --hold-ms)
    encode: Callable[[np.ndarray, Sequence[int], Sequence[str] | None], bytes]


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("gif", ".gif", True, lambda frames, durations, labels: encode_gif(frames, durations)),
        Format("webp", ".webp", True, lambda frames, durations, labels: encode_webp(frames, durations)),
        Format("png-sheet", ".png", False, lambda frames, durations, labels: encode_png_sheet(frames, labels=labels)),
        Format("mp4", ".mp4", True, lambda frames, durations, labels: encode_mp4(frames, durations)),
    )
}
