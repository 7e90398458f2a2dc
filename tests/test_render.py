"""Tests for drawart.render: frames, boxes, and the GIF/PNG/MP4 encoders, on small synthetic arrays."""

import ast
import importlib.util
import io
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageSequence

from drawart import render
from drawart.errors import DrawartError

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


def test_default_scale():
    assert render.default_scale(8, 12) == 22  # 12*22 = 264 >= 256, 12*21 = 252 < 256
    assert render.default_scale(28, 28) == 10
    assert render.default_scale(256, 100) == 1
    assert render.default_scale(1000, 1000) == 1
    assert render.default_scale(64, 64, min_side=512) == 8


def test_to_uint8_rounds_and_keeps_shape():
    x = np.array([0.0, 1.0, 0.5, 1 / 255 * 0.49, 1 / 255 * 0.51, -1.0, 2.0]).reshape(1, 7, 1)
    out = render.to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == x.shape
    assert out.ravel().tolist() == [0, 255, 128, 0, 1, 0, 255]


@pytest.mark.parametrize("shape", [(H, W, 3), (T + 1, H, W, 1)])
def test_upscale_is_nearest_neighbour(shape):
    a = render.to_uint8(np.random.default_rng(1).random(shape))
    up = render.upscale(a, 3)
    assert up.shape == shape[:-3] + (H * 3, W * 3, shape[-1])
    # every 3×3 block is constant and equals the source pixel
    blocks = up.reshape(shape[:-3] + (H, 3, W, 3, shape[-1]))
    assert (blocks == a[..., :, None, :, None, :]).all()


def test_frame_durations():
    assert render.frame_durations(5) == [60, 60, 60, 60, 1500]
    assert render.frame_durations(1, frame_ms=40, hold_ms=900) == [900]
    assert render.frame_durations(0) == []


def _box_frame(scale=4):
    return np.zeros((H * scale, W * scale, 3), np.uint8)


def test_draw_boxes_outline_where_parameters_say():
    # gx=6, gy=4, delta=1, N=4: window [4, 8] × [2, 6] in pixel-centre coordinates,
    # i.e. output x in [(4+0.5)*4, (8+0.5)*4) = [18, 34), y in [10, 26).
    s = 4
    frame = _box_frame(s)
    out = render.draw_boxes(frame, (6, 4, 1, 0.1), None, 4, None, s)
    assert out is not frame and (frame == 0).all()  # a new array; input untouched
    read = np.array(render.READ_COLOR)
    for y, x in [(10, 18), (10, 33), (25, 18), (25, 33), (10, 25), (25, 25), (17, 18), (17, 33)]:
        assert (out[y, x] == read).all(), (y, x)
    for y, x in [(17, 25), (12, 20), (9, 18), (10, 17), (26, 25), (17, 34), (0, 0)]:
        assert not (out[y, x] == read).all(), (y, x)
    assert (out[11:25, 19:33] == 0).all()  # interior untouched (thickness 1 for small sigma)


def test_draw_boxes_write_colour_and_thickness_grows_with_sigma():
    s = 4
    thin = render.draw_boxes(_box_frame(s), None, (6, 4, 1, 0.1), None, 4, s)
    thick = render.draw_boxes(_box_frame(s), None, (6, 4, 1, 2.0), None, 4, s)
    write = np.array(render.WRITE_COLOR)
    n_thin = (thin == write).all(-1).sum()
    n_thick = (thick == write).all(-1).sum()
    assert n_thin > 0 and n_thick > n_thin
    assert not (thin == np.array(render.READ_COLOR)).all(-1).any()


def test_draw_boxes_gray_input_becomes_rgb():
    out = render.draw_boxes(np.zeros((H * 2, W * 2, 1), np.uint8), (6, 4, 1, 0.5), (3, 3, 1, 0.5), 3, 3, 2)
    assert out.shape == (H * 2, W * 2, 3)


@pytest.mark.parametrize(
    "box", [(0, 0, 2, 1), (W, H, 3, 1), (-20, -20, 1, 1), (6, 4, 100, 5), (np.nan, 4, 1, 1), (6, 4, 0, 1)]
)
def test_draw_boxes_partly_outside_or_degenerate_does_not_crash(box):
    out = render.draw_boxes(_box_frame(4), box, box, 5, 5, 4)
    assert out.shape == (H * 4, W * 4, 3)


def test_drawing_frames_shapes_and_channels():
    gray, rgb = _canvases(1), _canvases(3)
    assert render.drawing_frames(gray, scale=2).shape == (T + 1, H * 2, W * 2, 1)
    assert render.drawing_frames(rgb, scale=2).shape == (T + 1, H * 2, W * 2, 3)
    assert render.drawing_frames(gray).shape == (T + 1, H * 22, W * 22, 1)  # default scale
    boxes = np.tile([[6.0, 4.0, 1.0, 0.5]], (T, 1))
    with_boxes = render.drawing_frames(gray, scale=2, read_boxes=boxes, write_boxes=boxes, read_n=3, write_n=3)
    assert with_boxes.shape == (T + 1, H * 2, W * 2, 3)
    # frame 0 has no boxes; later frames do
    plain0 = render.upscale(render.to_uint8(gray[0]), 2)
    assert (with_boxes[0] == plain0).all()
    assert (with_boxes[1:] == np.array(render.WRITE_COLOR)).all(-1).any(axis=(1, 2)).all()


def test_drawing_frames_box_of_glimpse_t_on_frame_t():
    boxes = np.array([[1.0 + 2 * t, 4.0, 0.5, 0.1] for t in range(T)])
    frames = render.drawing_frames(np.full((T + 1, H, W, 3), 0.5), scale=4, read_boxes=boxes, read_n=2)
    read = np.array(render.READ_COLOR)
    left = [int((gx - 0.5 + 0.5) * 4) for gx in boxes[:, 0]]  # left edge: (gx - N*delta/2 + 0.5) * s
    for t in range(1, T + 1):
        on = [(frames[t, 17, x] == read).all() for x in left]  # y window [3.5, 4.5] -> rows 16..19
        assert on == [i == t - 1 for i in range(T)]


def test_drawing_frames_side_by_side_target_on_left():
    rgb = _canvases(3)
    target = np.zeros((H, W, 3))
    s = 3
    frames = render.drawing_frames(rgb, scale=s, target=target)
    gap = 2 * s
    assert frames.shape == (T + 1, H * s, 2 * W * s + gap, 3)
    assert (frames[:, :, : W * s] == 0).all()  # target on the left
    assert (frames[:, :, W * s : W * s + gap] == 255).all()  # white gap
    assert (frames[:, :, W * s + gap :] == render.upscale(render.to_uint8(rgb), s)).all()
    gray = render.drawing_frames(_canvases(1), scale=s, target=np.zeros((H, W, 1)))
    assert gray.shape == (T + 1, H * s, 2 * W * s + gap, 1)


def test_drawing_frames_rejects_wrong_box_count():
    with pytest.raises(ValueError):
        render.drawing_frames(_canvases(1), read_boxes=np.zeros((T - 1, 4)), read_n=3)


def test_gif_gray_exact_levels_count_size_loop_durations():
    canvases = _ramp_canvases()
    frames = render.drawing_frames(canvases, scale=2)
    durations = [30, 40, 50, 60, 1500]
    im, decoded, got = _decode_gif(render.encode_gif(frames, durations))
    assert len(decoded) == T + 1
    assert im.size == (32, 32)
    assert im.info["loop"] == 0
    assert got == durations
    last = np.asarray(decoded[-1].convert("L"))
    expected = render.upscale(render.to_uint8(canvases[-1]), 2)[..., 0]
    assert len(np.unique(expected)) == 256
    assert (last == expected).all()


def test_gif_keeps_identical_consecutive_frames():
    frames = render.to_uint8(np.zeros((6, H, W, 3)))  # Pillow alone would merge these into one
    _, decoded, durations = _decode_gif(render.encode_gif(frames, render.frame_durations(6)))
    assert len(decoded) == 6
    assert durations == [60] * 5 + [1500]


def test_gif_rgb_with_boxes_and_target_is_close():
    rgb = _canvases(3)
    boxes = np.tile([[6.0, 4.0, 1.0, 0.5]], (T, 1))
    frames = render.drawing_frames(
        rgb, scale=4, read_boxes=boxes, write_boxes=boxes * [0.5, 1, 1, 1], read_n=4, write_n=3, target=rgb[0]
    )
    im, decoded, durations = _decode_gif(render.encode_gif(frames, render.frame_durations(T + 1)))
    assert len(decoded) == T + 1
    assert im.size == (frames.shape[2], frames.shape[1])
    assert durations == render.frame_durations(T + 1)
    err = np.abs(np.asarray(decoded[-1], dtype=int) - frames[-1].astype(int)).mean()
    assert err < 3.0


def test_gif_rgb_photo_like_frame_many_colours():
    x = np.linspace(0, 1, 40)
    img = np.stack(np.broadcast_arrays(x[None, :], x[:, None], (x[None, :] * x[:, None])), -1)
    frames = render.upscale(render.to_uint8(img[None]), 2)  # 1600 distinct colours > 256
    _, decoded, _ = _decode_gif(render.encode_gif(frames, [100]))
    # An even spread over a colour-cube face is the worst case for a 256-colour palette; dithering
    # trades per-pixel error (~5 here) for a right average over each 8×8 block.
    error = np.asarray(decoded[0], dtype=float) - frames[0]
    assert np.abs(error).mean() < 6.0
    assert np.abs(error.reshape(10, 8, 10, 8, 3).mean(axis=(1, 3))).mean() < 2.0


def _smooth_gradient(height=64, width=256):
    """Floats (H, W, 3) in [0, 1]: a dusk-like ramp over 6,571 colours, too many for one palette."""
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    return (np.array([20, 40, 80]) + x * np.array([210, 150, 70]) + y * np.array([0, 30, 0])) / 255


def _block_errors(decoded, truth):
    """|mean of (decoded − truth)| over each 8×8 block of each channel, in 1/255 units."""
    h, w, c = truth.shape
    return np.abs((np.asarray(decoded, float) - truth * 255).reshape(h // 8, 8, w // 8, 8, c).mean(axis=(1, 3)))


def test_gif_smooth_gradient_does_not_band():
    truth = _smooth_gradient()
    frames = render.to_uint8(truth[None])
    assert len(render.animation_colours(frames)) > 256
    _, decoded, _ = _decode_gif(render.encode_gif(frames, [100]))
    blocks = _block_errors(decoded[0], truth)
    # A palette step is 4-6/255 here: without dithering an 8×8 block is off by up to half of one
    # and a band is a row of such blocks (drawart 0.1.0's per-frame median cut: mean 0.35, worst 1.95).
    assert blocks.mean() < 0.3 and blocks.max() < 1.5, (blocks.mean(), blocks.max())
    palette = render.gif_palette(frames, render.animation_colours(frames)).astype(float)
    gaps = np.sqrt(((palette[:, None] - palette[None]) ** 2).sum(-1)) + np.diag(np.full(len(palette), np.inf))
    off = np.sqrt(((np.asarray(decoded[0], float) - truth * 255) ** 2).sum(-1))
    assert off.max() <= 2 * gaps.min(axis=1).max()  # each pixel takes one of the entries around its colour
    undithered = np.asarray(Image.fromarray(frames[0]).quantize(256, method=Image.Quantize.MEDIANCUT).convert("RGB"))
    assert _block_errors(undithered, truth).max() > 1.5  # the bound tells banding from dithering


def test_gif_rare_far_colour_gets_its_own_entry():
    # A small dark corner in a bright gradient: too rare for the median cut, yet drawn close.
    truth = _smooth_gradient()
    truth[:4, -4:] = np.array([38, 21, 12]) / 255  # 0.1% of the pixels: not reserved (_RESERVED_SHARE)
    _, decoded, _ = _decode_gif(render.encode_gif(render.to_uint8(truth[None]), [100]))
    assert np.abs(np.asarray(decoded[0], float)[:4, -4:] - truth[:4, -4:] * 255).max() < 2.0  # 44 without


def test_gif_still_areas_keep_their_pixels_and_only_changes_are_stored():
    # The left half changes every frame, the right half never: its dithered pixels must not move
    # (no shimmer), and the frames after the first hold only the changing rectangle.
    truth = np.repeat(_smooth_gradient()[None], 4, axis=0)
    for t in range(4):
        truth[t, :, :64] = truth[t, :, :64] * (0.6 + 0.1 * t)
    frames = render.to_uint8(truth)
    data = render.encode_gif(frames, [60, 60, 60, 1500])
    _, decoded, _ = _decode_gif(data)
    right = np.stack([np.asarray(f)[:, 64:] for f in decoded])
    assert (right == right[0]).all()
    assert (np.stack([np.asarray(f)[:, :64] for f in decoded])[1:] != np.asarray(decoded[0])[:, :64]).any()
    with Image.open(io.BytesIO(data)) as im:
        im.seek(2)
        assert im.tile[0][1] == (0, 0, 64, 64)  # (x0, y0, x1, y1) of the stored rectangle


def test_webp_frame_count_durations_and_full_colour():
    truth = np.stack([_smooth_gradient(16, 32) * (0.5 + 0.1 * t) for t in range(4)])  # distinct frames
    frames = render.to_uint8(truth)
    durations = [40, 50, 60, 1500]
    with Image.open(io.BytesIO(render.encode_webp(frames, durations))) as im:
        assert im.format == "WEBP" and im.n_frames == 4 and im.info["loop"] == 0
        got = []
        for k, frame in enumerate(ImageSequence.Iterator(im)):
            frame.load()  # WebP sets a frame's duration when it is decoded
            got.append(frame.info["duration"])
            np.testing.assert_array_equal(np.asarray(frame.convert("RGB")), frames[k])  # lossless
    assert got == durations
    gray = render.encode_webp(render.to_uint8(_canvases(1)), render.frame_durations(T + 1))
    assert Image.open(io.BytesIO(gray)).n_frames == T + 1


def test_webp_without_libwebp_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(render.features, "check", lambda name: False)
    problem = render.encoder_problem("webp")
    assert problem and "\n" not in problem and "libwebp" in problem
    with pytest.raises(DrawartError, match="libwebp"):
        render.encode_webp(render.to_uint8(_canvases(3)), render.frame_durations(T + 1))
    assert render.encoder_problem("gif") is None


def test_gif_rejects_duration_mismatch():
    with pytest.raises(ValueError):
        render.encode_gif(render.to_uint8(_canvases(1)), [60])


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3]), st.integers(0, 2**31))
def test_gif_frame_count_property(n, h, w, c, seed):
    frames = np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)
    frames[n // 2 :] = frames[n // 2]  # some identical consecutive frames
    _, decoded, _ = _decode_gif(render.encode_gif(frames, [50] * n))
    assert len(decoded) == n
    if c == 1:
        assert (np.asarray(decoded[-1].convert("L")) == frames[-1, ..., 0]).all()


def test_png_sheet_grid_size():
    frames = render.drawing_frames(_canvases(3), scale=2)  # 5 frames of 16×24
    im = Image.open(io.BytesIO(render.encode_png_sheet(frames)))
    cols, rows = 3, 2  # ceil(sqrt(5)) = 3
    assert im.size == (cols * 24 + (cols + 1) * 4, rows * 16 + (rows + 1) * 4)
    im = Image.open(io.BytesIO(render.encode_png_sheet(frames, columns=5)))
    assert im.size == (5 * 24 + 6 * 4, 16 + 2 * 4)
    assert Image.open(io.BytesIO(render.encode_png_sheet(render.to_uint8(_canvases(1))))).mode == "L"


def test_png_sheet_labels_add_a_band_with_text():
    frames = render.drawing_frames(_canvases(1), scale=4)
    plain = Image.open(io.BytesIO(render.encode_png_sheet(frames, columns=5)))
    labels = [f"t={t}" for t in range(T + 1)]
    labelled = Image.open(io.BytesIO(render.encode_png_sheet(frames, columns=5, labels=labels)))
    assert labelled.size[0] == plain.size[0] and labelled.size[1] > plain.size[1]
    band = np.asarray(labelled)[4 + H * 4 :, 4 : 4 + W * 4]
    assert (band != 255).any()


def test_label_frame_changes_pixels_and_keeps_shape():
    for c in (1, 3):
        frame = np.full((64, 96, c), 128, np.uint8)
        out = render.label_frame(frame, "step 50000")
        assert out.shape == frame.shape and out.dtype == np.uint8
        assert (out != 128).any() and (frame == 128).all()
        assert (out[-10:, -10:] == 128).all()  # only a corner is used


def test_evolution_frames():
    finals = _canvases(3)[:3]
    steps = [100, 5000, 50000]
    frames = render.evolution_frames(finals, steps, scale=4)
    assert frames.shape == (3, H * 4, W * 4, 3)
    plain = render.upscale(render.to_uint8(finals), 4)
    assert all((frames[i] != plain[i]).any() for i in range(3))
    # different step numbers give different labels
    same = render.evolution_frames(np.repeat(finals[:1], 2, axis=0), [1, 99999], scale=4)
    assert (same[0] != same[1]).any()
    with_target = render.evolution_frames(finals, steps, scale=4, target=finals[0])
    assert with_target.shape == (3, H * 4, 2 * W * 4 + 8, 3)
    with pytest.raises(ValueError):
        render.evolution_frames(finals, [1, 2])


def test_mp4_timing_repeats_frames_to_their_durations():
    fps, repeats = render.mp4_timing(render.frame_durations(4, frame_ms=50, hold_ms=1500))
    assert fps == 20 and repeats.tolist() == [1, 1, 1, 30]
    fps, repeats = render.mp4_timing([40, 60, 100, 130])  # each shown for its duration, to half a frame
    assert fps == 25 and repeats.tolist() == [1, 2, 2, 3]  # 1.5 rounds to even; 3.25 to 3
    assert render.mp4_timing([900])[1].tolist() == [1]
    for bad in ([], [60, 0], [60, -5]):
        with pytest.raises(ValueError):
            render.mp4_timing(bad)


def test_encode_mp4_installed_or_clear_error():
    frames = render.drawing_frames(_canvases(1), scale=3)  # 24×36: even; and odd case below
    odd = render.to_uint8(np.random.default_rng(2).random((3, 7, 9, 3)))
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        with pytest.raises(DrawartError):
            render.encode_mp4(frames, render.frame_durations(len(frames)))
        return
    import imageio.v3 as iio

    for f in (frames, odd):
        durations = render.frame_durations(len(f), frame_ms=100, hold_ms=500)
        data = render.encode_mp4(f, durations)
        assert data[4:8] == b"ftyp"
        decoded = iio.imread(data, extension=".mp4", plugin="FFMPEG")
        assert len(decoded) == len(f) - 1 + 5  # the hold is the last frame five times at 10 fps
        assert iio.immeta(data, extension=".mp4", plugin="FFMPEG")["fps"] == 10
        # the held frames show the last frame: lossy H.264, so nearer it than the frame before it
        shown = render._even(render._to_rgb(f)).astype(float)
        for held in decoded[-5:].astype(float):
            assert np.abs(held - shown[-1]).mean() < np.abs(held - shown[-2]).mean()
    with pytest.raises(ValueError):
        render.encode_mp4(frames, [60])


def test_encode_mp4_missing_imageio_ffmpeg(monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # makes `import imageio_ffmpeg` fail
    with pytest.raises(DrawartError) as err:
        render.encode_mp4(render.to_uint8(_canvases(3)), render.frame_durations(3))
    msg = str(err.value)
    assert "\n" not in msg and "imageio-ffmpeg" in msg and "drawart[mp4]" in msg


def test_render_does_not_import_tensorflow():
    tree = ast.parse(open(render.__file__, encoding="utf-8").read())
    names = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {n.split(".")[0] for n in names} & {"tensorflow", "keras"}


def test_tile_lays_cells_out_row_major_with_white_gutters():
    cells = np.stack([np.full((2, 3, 4, 1), 10 * (k + 1), np.uint8) for k in range(5)])  # 5 animations of 2 frames
    grid = render.tile(cells, gap=2)
    cols, rows = 3, 2  # ceil(sqrt(5)) columns
    assert grid.shape == (2, rows * 3 + 3 * 2, cols * 4 + 4 * 2, 1)
    assert grid[1, 2, 2, 0] == 10 and grid[1, 2, 2 + 4 + 2, 0] == 20  # first row: cells 0, 1
    assert grid[0, 2 + 3 + 2, 2, 0] == 40  # second row starts with cell 3
    assert grid[0, 0, 0, 0] == 255 and grid[0, 2 + 3 + 2, 2 * (4 + 2) + 2, 0] == 255  # gutter, empty 6th cell
    # Float canvases in [0, 1] tile with gutters of 1.0, white once converted.
    floats = render.tile(np.full((2, 3, 4, 1), 0.25, np.float32), gap=1, background=1.0)
    assert floats.dtype == np.float32 and floats[0, 0, 0] == 1.0 and floats[1, 1, 0] == 0.25
    with pytest.raises(ValueError, match="cells"):
        render.tile(np.zeros((0, 3, 4, 1), np.uint8))
