"""Frames from DRAW canvases (numpy arrays): upscaled, with attention boxes, labels, grids.

Pure numpy + Pillow: nothing here imports TensorFlow or writes files.

Conventions
-----------
* Frames are uint8 arrays (N, H, W, C) with C = 1 (gray) or 3 (RGB).
* Attention boxes are (gx, gy, delta, sigma) in 0-based canvas pixel coordinates where an
  integer coordinate is a pixel *centre* (as in DRAW's filterbank, mu_i = g + (i - N/2 - 0.5)·delta
  evaluated at pixel indices). The window is the square spanning the N filter cells:
  [g - N·delta/2, g + N·delta/2] on each axis. In an image upscaled by s, canvas coordinate x
  lies at continuous output coordinate (x + 0.5)·s (pixel j of the output covers [j, j+1)).
* Line thickness (output pixels) = clip(round(sigma·s/2), 1, max(2, s)): blurrier filters get
  thicker lines, but never more than one canvas pixel (or 2 px) so small windows stay readable.
"""

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

READ_COLOR = (0, 200, 0)
WRITE_COLOR = (230, 40, 40)
BACKGROUND = 255  # gap between target and canvas, and around PNG sheet cells
_TEXT_BACKDROP = 0
_TEXT_COLOR = 255


def default_scale(height: int, width: int, min_side: int = 256) -> int:
    """Smallest integer factor making the longest side >= min_side, so tiny canvases are viewable."""
    longest = max(int(height), int(width), 1)
    return max(1, math.ceil(min_side / longest))


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Map floats in [0, 1] to uint8 with rounding (out-of-range values and NaN are clipped).

    uint8 input is taken to be frames already and returned as it is.
    """
    if np.asarray(frames).dtype == np.uint8:
        return np.asarray(frames)
    x = np.nan_to_num(np.asarray(frames, dtype=np.float64), nan=0.0)
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def upscale(frames_uint8: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscale of (H,W,C) or (N,H,W,C): each canvas pixel becomes a crisp s×s block."""
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    a = np.asarray(frames_uint8)
    if scale == 1:
        return a.copy()
    return np.repeat(np.repeat(a, scale, axis=-3), scale, axis=-2)


def _thickness(sigma, scale):
    """Line width in output pixels: thicker for blurrier filters (see module docstring)."""
    return int(np.clip(round(float(sigma) * scale / 2.0), 1, max(2, scale)))


def _window_pixels(g, delta, n, scale):
    """Inclusive output-pixel range [lo, hi] covered by a window centred at canvas coordinate g."""
    half = abs(float(delta)) * n / 2.0
    lo = math.floor((g - half + 0.5) * scale + 1e-6)
    hi = math.ceil((g + half + 0.5) * scale - 1e-6) - 1
    return lo, max(lo, hi)


def _outline(img, box, n, scale, color):
    """Draw one window outline on img (H,W,3) in place, clipped to the frame; skips non-finite boxes."""
    gx, gy, delta, sigma = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (gx, gy, delta, sigma)):
        return
    h, w = img.shape[:2]
    x0, x1 = _window_pixels(gx, delta, n, scale)
    y0, y1 = _window_pixels(gy, delta, n, scale)
    t = _thickness(sigma, scale)
    a = -((t - 1) // 2)  # lines are centred on the outline pixel (rounded inward for even t)
    bands = [
        (y0 + a, y0 + a + t, x0 + a, x1 - a + 1),  # top
        (y1 - a - t + 1, y1 - a + 1, x0 + a, x1 - a + 1),  # bottom
        (y0 + a, y1 - a + 1, x0 + a, x0 + a + t),  # left
        (y0 + a, y1 - a + 1, x1 - a - t + 1, x1 - a + 1),  # right
    ]
    for r0, r1, c0, c1 in bands:
        r0, r1 = max(r0, 0), min(r1, h)
        c0, c1 = max(c0, 0), min(c1, w)
        if r0 < r1 and c0 < c1:
            img[r0:r1, c0:c1] = color


def to_rgb(frames):
    """Repeat a 1-channel last axis to 3 channels (RGB stays as is)."""
    return np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames


def draw_boxes(
    frame_rgb_uint8: np.ndarray, read_box, write_box, read_n: int | None, write_n: int | None, scale: int
) -> np.ndarray:
    """Return a copy of an upscaled frame with the read (green) and write (red) windows outlined.

    Boxes are (gx, gy, delta, sigma) at canvas resolution; either may be None. The write box is
    drawn last, so it wins where the two overlap.
    """
    img = to_rgb(np.array(frame_rgb_uint8, dtype=np.uint8, copy=True))
    if read_box is not None:
        _outline(img, read_box, int(read_n), int(scale), READ_COLOR)
    if write_box is not None:
        _outline(img, write_box, int(write_n), int(scale), WRITE_COLOR)
    return img


def _check_canvases(canvases):
    """The canvases as an array, checked to be (T+1, H, W, 1|3)."""
    a = np.asarray(canvases)
    if a.ndim != 4 or a.shape[-1] not in (1, 3):
        raise ValueError(f"canvases must be (T+1, H, W, 1|3), got shape {a.shape}")
    return a


def _compose(panels, scale, target, read_boxes, read_n, gap=None):
    """Upscaled panels (N,h,w,c) with the upscaled target to the left (`gap` px apart, default
    2·scale); read box also shown on the target."""
    if target is None:
        return panels
    tgt = to_uint8(target)
    tgt = upscale(tgt[..., None] if tgt.ndim == 2 else tgt, scale)
    if panels.shape[-1] == 3:
        tgt = to_rgb(tgt)
    elif tgt.shape[-1] == 3:
        panels = to_rgb(panels)
    if tgt.shape[:2] != panels.shape[1:3]:
        raise ValueError(f"target {tgt.shape[:2]} and canvas {panels.shape[1:3]} sizes differ after upscaling")
    lefts = np.broadcast_to(tgt, panels.shape[:1] + tgt.shape).copy()
    if read_boxes is not None:
        for t in range(1, len(lefts)):
            lefts[t] = draw_boxes(lefts[t], read_boxes[t - 1], None, read_n, None, scale)
    gap = 2 * scale if gap is None else int(gap)
    width = tgt.shape[1] + gap + panels.shape[2]
    out = np.full(panels.shape[:2] + (width, panels.shape[3]), BACKGROUND, np.uint8)
    out[:, :, : tgt.shape[1]] = lefts
    out[:, :, tgt.shape[1] + gap :] = panels
    return out


def drawing_frames(
    canvases: np.ndarray,
    *,
    scale: int | None = None,
    read_boxes: np.ndarray | None = None,
    write_boxes: np.ndarray | None = None,
    read_n: int | None = None,
    write_n: int | None = None,
    target: np.ndarray | None = None,
    gap: int | None = None,
) -> np.ndarray:
    """Frames of the drawing process: one per canvas c_0..c_T, upscaled, with glimpse t's boxes on frame t.

    Output is uint8 (T+1, H·s, W·s, C), or (T+1, H·s, 2·W·s + 2·s, C) when target is given
    (target on the left, a white gap of `gap` pixels, 2·s by default, then the canvas; the read box is drawn on the
    target too, since that is the image the read head looks at). Gray stays 1-channel unless
    boxes are drawn (then RGB). Frame 0 has no boxes.
    """
    c = _check_canvases(canvases)
    n_frames, h, w, _ = c.shape
    s = default_scale(h, w) if scale is None else int(scale)
    frames = upscale(to_uint8(c), s)  # a new array, so boxes are drawn on it in place
    for name, boxes, n in (("read", read_boxes, read_n), ("write", write_boxes, write_n)):
        if boxes is not None:
            if np.shape(boxes) != (n_frames - 1, 4):
                raise ValueError(f"{name}_boxes must be (T, 4) = ({n_frames - 1}, 4), got {np.shape(boxes)}")
            if n is None:
                raise ValueError(f"{name}_n is needed with {name}_boxes")
    if read_boxes is not None or write_boxes is not None:
        frames = to_rgb(frames)
        for t in range(1, n_frames):
            rb = None if read_boxes is None else read_boxes[t - 1]
            wb = None if write_boxes is None else write_boxes[t - 1]
            frames[t] = draw_boxes(frames[t], rb, wb, read_n, write_n, s)
    return _compose(frames, s, target, read_boxes, read_n, gap)


def as_frames(frames_uint8):
    """Validate and normalise to uint8 (N, H, W, C) with C in (1, 3); (N, H, W) is taken as gray."""
    a = np.asarray(frames_uint8)
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4 or a.shape[-1] not in (1, 3) or len(a) == 0:
        raise ValueError(f"frames must be (N, H, W, 1|3) with N >= 1, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {a.dtype}")
    return a


def _font(size):
    """Pillow's bundled font at a pixel size (FreeType when available, else the bitmap default)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def text_image(text, size):
    """Gray image of text: light text on a dark backdrop with a small margin."""
    font = _font(size)
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=font)
    pad = max(2, size // 5)
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), _TEXT_BACKDROP)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, fill=_TEXT_COLOR, font=font)
    return np.asarray(img)


def label_frame(frame_uint8: np.ndarray, text: str) -> np.ndarray:
    """Copy of a (H,W,C) frame with text in the top-left corner on a dark backdrop (readable on any canvas)."""
    img = np.array(frame_uint8, dtype=np.uint8, copy=True)
    h, w = img.shape[:2]
    label = text_image(str(text), max(10, round(min(h, w) / 16)))
    lh, lw = min(label.shape[0], h), min(label.shape[1], w)
    img[:lh, :lw] = label[:lh, :lw, None] if img.ndim == 3 else label[:lh, :lw]
    return img


def evolution_frames(
    final_canvases: np.ndarray,
    steps: Sequence[int],
    *,
    scale: int | None = None,
    target: np.ndarray | None = None,
    gap: int | None = None,
) -> np.ndarray:
    """One frame per training milestone: that milestone's final canvas, upscaled and labelled "step N"."""
    c = _check_canvases(final_canvases)
    if len(steps) != len(c):
        raise ValueError(f"{len(c)} canvases but {len(steps)} steps")
    s = default_scale(*c.shape[1:3]) if scale is None else int(scale)
    panels = upscale(to_uint8(c), s)
    panels = np.stack([label_frame(p, f"step {int(n)}") for p, n in zip(panels, steps)])
    return _compose(panels, s, target, None, None, gap)


def tile(cells: np.ndarray, columns: int | None = None, gap: int = 4, background: int = BACKGROUND) -> np.ndarray:
    """Lay K same-sized cells (K, ..., H, W, C) out in a grid, row-major, with white `gap`-pixel gutters.

    Leading axes after K are kept, so K animations (K, N, H, W, C) become one animation of grids
    (N, H', W', C) that play in step. The grid has a gutter all round: columns·W + (columns+1)·gap
    wide, rows·H + (rows+1)·gap high; columns defaults to ceil(sqrt(K)). `background` is the
    gutters' value: 1.0 tiles float canvases in [0, 1] before they are upscaled.
    """
    a = np.asarray(cells)
    if a.ndim < 4 or a.shape[-1] not in (1, 3) or len(a) == 0:
        raise ValueError(f"cells must be (K, ..., H, W, 1|3) with K >= 1, got shape {a.shape}")
    k, (h, w, c) = len(a), a.shape[-3:]
    cols = max(1, int(columns) if columns else math.ceil(math.sqrt(k)))
    rows = math.ceil(k / cols)
    grid = np.full(a.shape[1:-3] + (rows * h + (rows + 1) * gap, cols * w + (cols + 1) * gap, c), background, a.dtype)
    for i, cell in enumerate(a):
        y, x = gap + (i // cols) * (h + gap), gap + (i % cols) * (w + gap)
        grid[..., y : y + h, x : x + w, :] = cell
    return grid
