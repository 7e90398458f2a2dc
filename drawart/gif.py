"""The GIF codec: one palette for the whole animation, ordered two-colour mixes, one GIF frame
per frame, each holding only the rectangle that changed. Pure numpy + Pillow."""

import io
import math
import struct
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from drawart.picture import as_frames

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
    frames = as_frames(frames_uint8)
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
