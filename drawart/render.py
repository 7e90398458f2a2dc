"""Turn DRAW canvases (numpy arrays) into pictures: upscaled frames, attention boxes, GIF/WebP/PNG/MP4 bytes.

Pure numpy + Pillow (+ optional imageio-ffmpeg): nothing here imports tensorflow or keras,
and nothing here writes files: every encoder returns bytes so callers can write atomically.

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

import importlib
import io
import math
import struct
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from drawart.errors import DrawartError

# What `drawart gif --format` writes.
FORMATS = {"gif": ".gif", "webp": ".webp", "png-sheet": ".png", "mp4": ".mp4"}
ANIMATED = ("gif", "webp", "mp4")  # formats whose frames have durations
# Lossless WebP: quality is the effort spent on size. On a 33-frame 512-px render 100 took 5.5 s
# for 1,057 KiB, 50 took 2.2 s for 1,098 KiB.
WEBP_QUALITY = 50
WEBP_METHOD = 4
READ_COLOR = (0, 200, 0)
WRITE_COLOR = (230, 40, 40)
_BACKGROUND = 255  # gap between target and canvas, and around PNG sheet cells
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


def _to_rgb(frames):
    """Repeat a 1-channel last axis to 3 channels (RGB stays as is)."""
    return np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames


def draw_boxes(
    frame_rgb_uint8: np.ndarray, read_box, write_box, read_n: int | None, write_n: int | None, scale: int
) -> np.ndarray:
    """Return a copy of an upscaled frame with the read (green) and write (red) windows outlined.

    Boxes are (gx, gy, delta, sigma) at canvas resolution; either may be None. The write box is
    drawn last, so it wins where the two overlap.
    """
    img = _to_rgb(np.array(frame_rgb_uint8, dtype=np.uint8, copy=True))
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
        tgt = _to_rgb(tgt)
    elif tgt.shape[-1] == 3:
        panels = _to_rgb(panels)
    if tgt.shape[:2] != panels.shape[1:3]:
        raise ValueError(f"target {tgt.shape[:2]} and canvas {panels.shape[1:3]} sizes differ after upscaling")
    lefts = np.broadcast_to(tgt, panels.shape[:1] + tgt.shape).copy()
    if read_boxes is not None:
        for t in range(1, len(lefts)):
            lefts[t] = draw_boxes(lefts[t], read_boxes[t - 1], None, read_n, None, scale)
    gap = 2 * scale if gap is None else int(gap)
    width = tgt.shape[1] + gap + panels.shape[2]
    out = np.full(panels.shape[:2] + (width, panels.shape[3]), _BACKGROUND, np.uint8)
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
        frames = _to_rgb(frames)
        for t in range(1, n_frames):
            rb = None if read_boxes is None else read_boxes[t - 1]
            wb = None if write_boxes is None else write_boxes[t - 1]
            frames[t] = draw_boxes(frames[t], rb, wb, read_n, write_n, s)
    return _compose(frames, s, target, read_boxes, read_n, gap)


def frame_durations(n_frames: int, frame_ms: int = 60, hold_ms: int = 1500) -> list[int]:
    """Per-frame durations in ms: every frame frame_ms, the last held hold_ms so the result can be seen."""
    if n_frames <= 0:
        return []
    return [int(frame_ms)] * (n_frames - 1) + [int(hold_ms)]


def _as_frames(frames_uint8):
    """Validate and normalise to uint8 (N, H, W, C) with C in (1, 3); (N, H, W) is taken as gray."""
    a = np.asarray(frames_uint8)
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4 or a.shape[-1] not in (1, 3) or len(a) == 0:
        raise ValueError(f"frames must be (N, H, W, 1|3) with N >= 1, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {a.dtype}")
    return a


# ---------------------------------------------------------------------------------------------
# GIF: one palette for the whole animation, ordered two-colour mixes, one GIF frame per frame.

PALETTE_SIZE = 256
# A colour on at least this share of the sampled pixels gets an exact palette entry of its own
# (box outlines, gutters, label backdrops, a flat background), so it is never dithered.
_RESERVED_SHARE = 0.002
_MAX_RESERVED = 32
# Entries kept for the colours farthest from the rest of the palette: a small dark corner or a
# bright eye is rare in the sample the median cut sees, and without them it is drawn 30/255 off.
_OUTLIERS = 16
# A mix of two entries is chosen for its bias² + _SPREAD · its dither noise (per-pixel variance):
# 0 takes any pair that averages closest, however far apart (grainy); 1 never dithers (bands).
# 0.1 measured best against banding in bench/output_quality.py.
_SPREAD = 0.1
_CANDIDATES = 8  # the palette entries nearest a colour, among which its mix is chosen


def _bayer(size=8):
    """size×size ordered-dither thresholds in (0, 1), each k/size² + 1/(2·size²) once (Bayer's matrix)."""
    m = np.zeros((1, 1), np.int64)
    while len(m) < size:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return ((m + 0.5) / m.size).astype(np.float32)


_THRESHOLDS = _bayer()


def _packed(rgb):
    """(..., 3) uint8 → (...) uint32 0xRRGGBB, one number per colour."""
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpacked(packed):
    """(n,) 0xRRGGBB → (n, 3) uint8."""
    packed = np.asarray(packed, np.uint32)
    return np.stack([packed >> 16, (packed >> 8) & 255, packed & 255], axis=-1).astype(np.uint8)


def animation_colours(frames: np.ndarray) -> np.ndarray:
    """Every colour the RGB frames (N, H, W, 3) use, packed 0xRRGGBB and sorted: one 16 MiB bitmap,
    one frame at a time, however many frames there are."""
    seen = np.zeros(1 << 24, bool)
    for frame in frames:
        seen[_packed(frame)] = True
    return np.flatnonzero(seen).astype(np.uint32)


def gif_palette(frames: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """The animation's one palette, (K ≤ 256, 3) uint8.

    At most 256 colours: those colours, exactly. Otherwise frequent colours (see _RESERVED_SHARE),
    a median cut of the rest, over the last frame (the finished drawing, held longest) and a
    strided sample of every other frame about as large, and the colours farthest from those
    (_OUTLIERS), picked one by one over every colour the animation uses.
    """
    if len(colours) <= PALETTE_SIZE:
        return _unpacked(colours)
    step = max(1, math.ceil(math.sqrt(len(frames) - 1)))
    sample = np.concatenate([frames[-1].reshape(-1, 3)] + [f[::step, ::step].reshape(-1, 3) for f in frames[:-1]])
    packed = _packed(sample)
    values, counts = np.unique(packed, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:_MAX_RESERVED]
    reserved = values[order[counts[order] >= _RESERVED_SHARE * len(packed)]]
    rest = sample[~np.isin(packed, reserved)]
    size = PALETTE_SIZE - len(reserved) - _OUTLIERS
    cut = Image.fromarray(rest[:, None, :], "RGB").quantize(size, method=Image.Quantize.MEDIANCUT)
    table = np.asarray(cut.getpalette()[: 3 * size], np.uint8).reshape(-1, 3)
    palette = np.concatenate([_unpacked(reserved), table[np.unique(np.asarray(cut))]])
    return np.concatenate([palette, _farthest(colours, palette, PALETTE_SIZE - len(palette))])


def _distances(colours_rgb, table, chunk=8192):
    """Squared distance of each colour (n, 3) float32 to its nearest entry of table (k, 3)."""
    norms = (table**2).sum(axis=1)
    out = np.empty(len(colours_rgb), np.float32)
    for start in range(0, len(colours_rgb), chunk):
        c = colours_rgb[start : start + chunk]
        out[start : start + chunk] = (norms[None, :] - 2 * c @ table.T).min(axis=1) + (c**2).sum(axis=1)
    return out


def _farthest(colours, palette, count):
    """`count` of the packed colours, each the farthest from the palette and those picked before it."""
    rgb = _unpacked(colours).astype(np.float32)
    gap = _distances(rgb, palette.astype(np.float32))
    picked = []
    for _ in range(count):
        i = int(gap.argmax())
        picked.append(i)
        gap = np.minimum(gap, ((rgb - rgb[i]) ** 2).sum(axis=1))
    return _unpacked(colours[picked]) if picked else np.zeros((0, 3), np.uint8)


def colour_mixes(
    colours: np.ndarray, palette: np.ndarray, chunk: int = 8192
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How each colour is drawn with the palette: (first, second, share), one entry per colour.

    `first` is the nearest palette entry; a share `share` of the pixels of that colour take
    `second` instead, so that around any pixel the mix averages to the colour (projected on the
    line between the two): a smooth gradient dithers between neighbouring entries instead of
    breaking into bands. `second` is the one of the _CANDIDATES nearest entries whose mix has the
    least bias² + _SPREAD · dither noise, so a mix never reaches for an entry far away. A colour in
    the palette is drawn exactly (share 0). Distances are exact integers in float32.
    """
    table = palette.astype(np.float32)
    norms = (table**2).sum(axis=1)
    k = min(_CANDIDATES, len(table))
    first = np.empty(len(colours), np.uint8)
    second = np.empty(len(colours), np.uint8)
    share = np.empty(len(colours), np.float32)
    for start in range(0, len(colours), chunk):
        c = _unpacked(colours[start : start + chunk]).astype(np.float32)
        distance = norms[None, :] - 2 * c @ table.T  # |entry − c|² − |c|²
        near = distance.argmin(axis=1)
        candidates = np.argpartition(distance, k - 1, axis=1)[:, :k]  # (n, k), `near` among them
        miss = (c - table[near])[:, None, :]
        step = table[candidates] - table[near][:, None, :]
        length = (step**2).sum(axis=-1)
        t = np.clip((miss * step).sum(axis=-1) / np.maximum(length, 1e-9), 0.0, 1.0)
        bias = ((miss - t[..., None] * step) ** 2).sum(axis=-1)
        best = (bias + _SPREAD * t * (1 - t) * length).argmin(axis=1)
        rows = np.arange(len(c))
        first[start : start + chunk] = near
        second[start : start + chunk] = candidates[rows, best]
        share[start : start + chunk] = t[rows, best]
    return first, second, share


def _thresholds(height, width):
    """The ordered-dither threshold of every pixel of a frame: fixed by position alone."""
    rows, cols = _THRESHOLDS.shape
    return np.tile(_THRESHOLDS, (-(-height // rows), -(-width // cols)))[:height, :width]


def gif_indices(frames: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """(palette (K, 3) uint8, index(frame) → (H, W) uint8) for frames (N, H, W, 1|3).

    Gray frames index the 256-level gray ramp with their own values, so they decode exactly. RGB
    frames share one palette (gif_palette) and are drawn with ordered two-colour mixes
    (colour_mixes). A pixel's index depends only on its colour and its position, never on the
    frames before it, so a pixel that keeps its colour keeps its index: still areas do not shimmer,
    and each GIF frame after the first need only hold the rectangle that changed.
    """
    if frames.shape[-1] == 1:
        return np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1), lambda frame: frame[..., 0]
    colours = animation_colours(frames)
    palette = gif_palette(frames, colours)
    first, second, share = colour_mixes(colours, palette)
    thresholds = _thresholds(*frames.shape[1:3])

    def index(frame):
        k = np.searchsorted(colours, _packed(frame))
        return np.where(share[k] > thresholds, second[k], first[k])

    return palette, index


def _skip_sub_blocks(data, pos):
    """Position just after a GIF sub-block chain (ends with a zero-length block)."""
    while data[pos]:
        pos += data[pos] + 1
    return pos + 1


def _lzw(indices, palette_bytes):
    """The LZW-coded image data (minimum code size byte and sub-blocks) of indices (h, w) uint8.

    Pillow codes it as a one-frame GIF and the data is cut out of that file.
    """
    image = Image.fromarray(np.ascontiguousarray(indices), "P")
    image.putpalette(palette_bytes)
    buf = io.BytesIO()
    image.save(buf, format="GIF", optimize=False, interlace=False)
    data = buf.getvalue()
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[pos] == 0x21:  # extensions
        pos = _skip_sub_blocks(data, pos + 2)
    if data[pos] != 0x2C or data[pos + 9] & 0x80:
        raise RuntimeError("unexpected GIF layout from Pillow")
    start = pos + 10
    return data[start : _skip_sub_blocks(data, start + 1)]  # +1: the minimum code size byte


def _changed(before, after):
    """(x, y, w, h) of the smallest rectangle holding every pixel that differs; 1×1 if none does."""
    rows = np.flatnonzero((before != after).any(axis=1))
    if not len(rows):
        return 0, 0, 1, 1
    cols = np.flatnonzero((before[rows[0] : rows[-1] + 1] != after[rows[0] : rows[-1] + 1]).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def encode_gif(frames_uint8: np.ndarray, durations_ms: Sequence[int]) -> bytes:
    """Animated GIF bytes, looping forever, exactly one GIF frame per input frame.

    Colours come from gif_indices: gray decodes exactly; RGB uses one palette for the whole
    animation with ordered dithering, so smooth gradients do not band and still areas do not
    shimmer. Each frame after the first holds only the rectangle that changed (drawn over the
    frame before). Durations are stored in 1/100 s: rounded to 10 ms and raised to at least 20 ms
    (browsers slow shorter delays to 100 ms).

    The container is assembled here: Pillow 13's animated writer drops a frame identical to the
    one before it (adding its duration to that one) and has no option to keep it, and imageio's
    GIF writers go through Pillow's (v3) or quantise each frame alone (legacy); a frame per glimpse
    is what a viewer stepping through the drawing needs.
    """
    frames = _as_frames(frames_uint8)
    if len(durations_ms) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(durations_ms)} durations")
    n, h, w, _ = frames.shape
    palette, index = gif_indices(frames)
    bits = max(1, math.ceil(math.log2(len(palette))))
    table = np.zeros((1 << bits, 3), np.uint8)
    table[: len(palette)] = palette
    out = io.BytesIO()
    out.write(b"GIF89a" + struct.pack("<HHBBB", w, h, 0x80 | 0x70 | (bits - 1), 0, 0))
    out.write(table.tobytes())
    out.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", 0) + b"\x00")  # loop forever
    before = None
    for frame, ms in zip(frames, durations_ms):
        indices = index(frame)
        x, y, width, height = (0, 0, w, h) if before is None else _changed(before, indices)
        before = indices
        delay = min(max(round(float(ms) / 10.0), 2), 0xFFFF)
        out.write(b"\x21\xf9\x04" + struct.pack("<BHB", 1 << 2, delay, 0) + b"\x00")  # disposal 1: keep
        out.write(b"\x2c" + struct.pack("<HHHHB", x, y, width, height, 0))
        out.write(_lzw(indices[y : y + height, x : x + width], table.tobytes()))
    out.write(b"\x3b")
    return out.getvalue()


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
    frames = _as_frames(frames_uint8)
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


def _font(size):
    """Pillow's bundled font at a pixel size (FreeType when available, else the bitmap default)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def _text_image(text, size):
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
    label = _text_image(str(text), max(10, round(min(h, w) / 16)))
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


def tile(cells: np.ndarray, columns: int | None = None, gap: int = 4, background: int = _BACKGROUND) -> np.ndarray:
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


def encode_png_sheet(
    frames_uint8: np.ndarray, columns: int | None = None, labels: Sequence[str] | None = None
) -> bytes:
    """PNG bytes of all frames in a grid (row-major), white 4-px gaps, optional label under each frame.

    Size: columns·w + (columns+1)·4 wide, rows·(h + label_h) + (rows+1)·4 high, where label_h
    is 0 without labels. columns defaults to ceil(sqrt(n)).
    """
    frames = _as_frames(frames_uint8)
    n, h, w, c = frames.shape
    if labels is not None and len(labels) != n:
        raise ValueError(f"{n} frames but {len(labels)} labels")
    texts = [None if labels is None or labels[i] is None else _text_image(str(labels[i]), 12) for i in range(n)]
    label_h = max((t.shape[0] for t in texts if t is not None), default=0)
    cells = np.full((n, h + label_h, w, c), _BACKGROUND, np.uint8)
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

    frames = _even(_to_rgb(_as_frames(frames_uint8)))
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
