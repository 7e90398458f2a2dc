"""drawart.gif: the GIF codec (one palette, ordered mixes, changed rectangles), on small synthetic arrays."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageSequence

from drawart import formats, gif, picture

T, H, W = 4, 8, 12


def _canvases(channels, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((T + 1, H, W, channels))


def _ramp_canvases():
    """16×16 gray canvases whose last one holds all 256 gray levels."""
    ramp = (np.arange(256, dtype=np.float64) / 255.0).reshape(16, 16, 1)
    return np.stack([ramp * t / T for t in range(T + 1)])


def _decode_gif(data):
    im = Image.open(io.BytesIO(data))
    frames, durations = [], []
    for frame in ImageSequence.Iterator(im):
        durations.append(frame.info["duration"])
        frames.append(frame.convert("RGB"))
    return im, frames, durations


def _smooth_gradient(height=64, width=256):
    """Floats (H, W, 3) in [0, 1]: a dusk-like ramp over 6,571 colours, too many for one palette."""
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    return (np.array([20, 40, 80]) + x * np.array([210, 150, 70]) + y * np.array([0, 30, 0])) / 255


def _block_errors(decoded, truth):
    """|mean of (decoded − truth)| over each 8×8 block of each channel, in 1/255 units."""
    h, w, c = truth.shape
    return np.abs((np.asarray(decoded, float) - truth * 255).reshape(h // 8, 8, w // 8, 8, c).mean(axis=(1, 3)))


def test_gif_gray_exact_levels_count_size_loop_durations():
    canvases = _ramp_canvases()
    frames = picture.drawing_frames(canvases, scale=2)
    durations = [30, 40, 50, 60, 1500]
    im, decoded, got = _decode_gif(gif.encode_gif(frames, durations))
    assert len(decoded) == T + 1
    assert im.size == (32, 32)
    assert im.info["loop"] == 0
    assert got == durations
    last = np.asarray(decoded[-1].convert("L"))
    expected = picture.upscale(picture.to_uint8(canvases[-1]), 2)[..., 0]
    assert len(np.unique(expected)) == 256
    assert (last == expected).all()


def test_gif_keeps_identical_consecutive_frames():
    frames = picture.to_uint8(np.zeros((6, H, W, 3)))  # Pillow alone would merge these into one
    _, decoded, durations = _decode_gif(gif.encode_gif(frames, formats.frame_durations(6)))
    assert len(decoded) == 6
    assert durations == [60] * 5 + [1500]


def test_gif_rgb_with_boxes_and_target_is_close():
    rgb = _canvases(3)
    boxes = np.tile([[6.0, 4.0, 1.0, 0.5]], (T, 1))
    frames = picture.drawing_frames(
        rgb, scale=4, read_boxes=boxes, write_boxes=boxes * [0.5, 1, 1, 1], read_n=4, write_n=3, target=rgb[0]
    )
    im, decoded, durations = _decode_gif(gif.encode_gif(frames, formats.frame_durations(T + 1)))
    assert len(decoded) == T + 1
    assert im.size == (frames.shape[2], frames.shape[1])
    assert durations == formats.frame_durations(T + 1)
    err = np.abs(np.asarray(decoded[-1], dtype=int) - frames[-1].astype(int)).mean()
    assert err < 3.0


def test_gif_rgb_photo_like_frame_many_colours():
    x = np.linspace(0, 1, 40)
    img = np.stack(np.broadcast_arrays(x[None, :], x[:, None], (x[None, :] * x[:, None])), -1)
    frames = picture.upscale(picture.to_uint8(img[None]), 2)  # 1600 distinct colours > 256
    _, decoded, _ = _decode_gif(gif.encode_gif(frames, [100]))
    # An even spread over a colour-cube face is the worst case for a 256-colour palette; dithering
    # trades per-pixel error (~5 here) for a right average over each 8×8 block.
    error = np.asarray(decoded[0], dtype=float) - frames[0]
    assert np.abs(error).mean() < 6.0
    assert np.abs(error.reshape(10, 8, 10, 8, 3).mean(axis=(1, 3))).mean() < 2.0


def test_gif_smooth_gradient_does_not_band():
    truth = _smooth_gradient()
    frames = picture.to_uint8(truth[None])
    assert len(gif.animation_colours(frames)) > 256
    _, decoded, _ = _decode_gif(gif.encode_gif(frames, [100]))
    blocks = _block_errors(decoded[0], truth)
    # A palette step is 4-6/255 here: without dithering an 8×8 block is off by up to half of one
    # and a band is a row of such blocks (drawart 0.1.0's per-frame median cut: mean 0.35, worst 1.95).
    assert blocks.mean() < 0.3 and blocks.max() < 1.5, (blocks.mean(), blocks.max())
    palette = gif.gif_palette(frames, gif.animation_colours(frames)).astype(float)
    gaps = np.sqrt(((palette[:, None] - palette[None]) ** 2).sum(-1)) + np.diag(np.full(len(palette), np.inf))
    off = np.sqrt(((np.asarray(decoded[0], float) - truth * 255) ** 2).sum(-1))
    assert off.max() <= 2 * gaps.min(axis=1).max()  # each pixel takes one of the entries around its colour
    undithered = np.asarray(Image.fromarray(frames[0]).quantize(256, method=Image.Quantize.MEDIANCUT).convert("RGB"))
    assert _block_errors(undithered, truth).max() > 1.5  # the bound tells banding from dithering


def test_gif_rare_far_colour_gets_its_own_entry():
    # A small dark corner in a bright gradient: too rare for the median cut, yet drawn close.
    truth = _smooth_gradient()
    truth[:4, -4:] = np.array([38, 21, 12]) / 255  # 0.1% of the pixels: not reserved (_RESERVED_SHARE)
    _, decoded, _ = _decode_gif(gif.encode_gif(picture.to_uint8(truth[None]), [100]))
    assert np.abs(np.asarray(decoded[0], float)[:4, -4:] - truth[:4, -4:] * 255).max() < 2.0  # 44 without


def test_gif_still_areas_keep_their_pixels_and_only_changes_are_stored():
    # The left half changes every frame, the right half never: its dithered pixels must not move
    # (no shimmer), and the frames after the first hold only the changing rectangle.
    truth = np.repeat(_smooth_gradient()[None], 4, axis=0)
    for t in range(4):
        truth[t, :, :64] = truth[t, :, :64] * (0.6 + 0.1 * t)
    frames = picture.to_uint8(truth)
    data = gif.encode_gif(frames, [60, 60, 60, 1500])
    _, decoded, _ = _decode_gif(data)
    right = np.stack([np.asarray(f)[:, 64:] for f in decoded])
    assert (right == right[0]).all()
    assert (np.stack([np.asarray(f)[:, :64] for f in decoded])[1:] != np.asarray(decoded[0])[:, :64]).any()
    with Image.open(io.BytesIO(data)) as im:
        im.seek(2)
        assert im.tile[0][1] == (0, 0, 64, 64)  # (x0, y0, x1, y1) of the stored rectangle


def test_gif_rejects_duration_mismatch():
    with pytest.raises(ValueError):
        gif.encode_gif(picture.to_uint8(_canvases(1)), [60])


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3]), st.integers(0, 2**31))
def test_gif_frame_count_property(n, h, w, c, seed):
    frames = np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)
    frames[n // 2 :] = frames[n // 2]  # some identical consecutive frames
    _, decoded, _ = _decode_gif(gif.encode_gif(frames, [50] * n))
    assert len(decoded) == n
    if c == 1:
        assert (np.asarray(decoded[-1].convert("L")) == frames[-1, ..., 0]).all()
