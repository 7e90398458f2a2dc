"""drawart.picture: frames from canvases (upscaling, boxes, labels, grids), on small synthetic arrays."""

import ast

import numpy as np
import pytest

from drawart import formats, gif, picture

T, H, W = 4, 8, 12


def _canvases(channels, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((T + 1, H, W, channels))


def _box_frame(scale=4):
    return np.zeros((H * scale, W * scale, 3), np.uint8)


def test_default_scale():
    assert picture.default_scale(8, 12) == 22  # 12*22 = 264 >= 256, 12*21 = 252 < 256
    assert picture.default_scale(28, 28) == 10
    assert picture.default_scale(256, 100) == 1
    assert picture.default_scale(1000, 1000) == 1
    assert picture.default_scale(64, 64, min_side=512) == 8


def test_to_uint8_rounds_and_keeps_shape():
    x = np.array([0.0, 1.0, 0.5, 1 / 255 * 0.49, 1 / 255 * 0.51, -1.0, 2.0]).reshape(1, 7, 1)
    out = picture.to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == x.shape
    assert out.ravel().tolist() == [0, 255, 128, 0, 1, 0, 255]


@pytest.mark.parametrize("shape", [(H, W, 3), (T + 1, H, W, 1)])
def test_upscale_is_nearest_neighbour(shape):
    a = picture.to_uint8(np.random.default_rng(1).random(shape))
    up = picture.upscale(a, 3)
    assert up.shape == shape[:-3] + (H * 3, W * 3, shape[-1])
    # every 3×3 block is constant and equals the source pixel
    blocks = up.reshape(shape[:-3] + (H, 3, W, 3, shape[-1]))
    assert (blocks == a[..., :, None, :, None, :]).all()


def test_draw_boxes_outline_where_parameters_say():
    # gx=6, gy=4, delta=1, N=4: window [4, 8] × [2, 6] in pixel-centre coordinates,
    # i.e. output x in [(4+0.5)*4, (8+0.5)*4) = [18, 34), y in [10, 26).
    s = 4
    frame = _box_frame(s)
    out = picture.draw_boxes(frame, (6, 4, 1, 0.1), None, 4, None, s)
    assert out is not frame and (frame == 0).all()  # a new array; input untouched
    read = np.array(picture.READ_COLOR)
    for y, x in [(10, 18), (10, 33), (25, 18), (25, 33), (10, 25), (25, 25), (17, 18), (17, 33)]:
        assert (out[y, x] == read).all(), (y, x)
    for y, x in [(17, 25), (12, 20), (9, 18), (10, 17), (26, 25), (17, 34), (0, 0)]:
        assert not (out[y, x] == read).all(), (y, x)
    assert (out[11:25, 19:33] == 0).all()  # interior untouched (thickness 1 for small sigma)


def test_draw_boxes_write_colour_and_thickness_grows_with_sigma():
    s = 4
    thin = picture.draw_boxes(_box_frame(s), None, (6, 4, 1, 0.1), None, 4, s)
    thick = picture.draw_boxes(_box_frame(s), None, (6, 4, 1, 2.0), None, 4, s)
    write = np.array(picture.WRITE_COLOR)
    n_thin = (thin == write).all(-1).sum()
    n_thick = (thick == write).all(-1).sum()
    assert n_thin > 0 and n_thick > n_thin
    assert not (thin == np.array(picture.READ_COLOR)).all(-1).any()


def test_draw_boxes_gray_input_becomes_rgb():
    out = picture.draw_boxes(np.zeros((H * 2, W * 2, 1), np.uint8), (6, 4, 1, 0.5), (3, 3, 1, 0.5), 3, 3, 2)
    assert out.shape == (H * 2, W * 2, 3)


@pytest.mark.parametrize(
    "box", [(0, 0, 2, 1), (W, H, 3, 1), (-20, -20, 1, 1), (6, 4, 100, 5), (np.nan, 4, 1, 1), (6, 4, 0, 1)]
)
def test_draw_boxes_partly_outside_or_degenerate_does_not_crash(box):
    out = picture.draw_boxes(_box_frame(4), box, box, 5, 5, 4)
    assert out.shape == (H * 4, W * 4, 3)


def test_drawing_frames_shapes_and_channels():
    gray, rgb = _canvases(1), _canvases(3)
    assert picture.drawing_frames(gray, scale=2).shape == (T + 1, H * 2, W * 2, 1)
    assert picture.drawing_frames(rgb, scale=2).shape == (T + 1, H * 2, W * 2, 3)
    assert picture.drawing_frames(gray).shape == (T + 1, H * 22, W * 22, 1)  # default scale
    boxes = np.tile([[6.0, 4.0, 1.0, 0.5]], (T, 1))
    with_boxes = picture.drawing_frames(gray, scale=2, read_boxes=boxes, write_boxes=boxes, read_n=3, write_n=3)
    assert with_boxes.shape == (T + 1, H * 2, W * 2, 3)
    # frame 0 has no boxes; later frames do
    plain0 = picture.upscale(picture.to_uint8(gray[0]), 2)
    assert (with_boxes[0] == plain0).all()
    assert (with_boxes[1:] == np.array(picture.WRITE_COLOR)).all(-1).any(axis=(1, 2)).all()


def test_drawing_frames_box_of_glimpse_t_on_frame_t():
    boxes = np.array([[1.0 + 2 * t, 4.0, 0.5, 0.1] for t in range(T)])
    frames = picture.drawing_frames(np.full((T + 1, H, W, 3), 0.5), scale=4, read_boxes=boxes, read_n=2)
    read = np.array(picture.READ_COLOR)
    left = [int((gx - 0.5 + 0.5) * 4) for gx in boxes[:, 0]]  # left edge: (gx - N*delta/2 + 0.5) * s
    for t in range(1, T + 1):
        on = [(frames[t, 17, x] == read).all() for x in left]  # y window [3.5, 4.5] -> rows 16..19
        assert on == [i == t - 1 for i in range(T)]


def test_drawing_frames_side_by_side_target_on_left():
    rgb = _canvases(3)
    target = np.zeros((H, W, 3))
    s = 3
    frames = picture.drawing_frames(rgb, scale=s, target=target)
    gap = 2 * s
    assert frames.shape == (T + 1, H * s, 2 * W * s + gap, 3)
    assert (frames[:, :, : W * s] == 0).all()  # target on the left
    assert (frames[:, :, W * s : W * s + gap] == 255).all()  # white gap
    assert (frames[:, :, W * s + gap :] == picture.upscale(picture.to_uint8(rgb), s)).all()
    gray = picture.drawing_frames(_canvases(1), scale=s, target=np.zeros((H, W, 1)))
    assert gray.shape == (T + 1, H * s, 2 * W * s + gap, 1)


def test_drawing_frames_rejects_wrong_box_count():
    with pytest.raises(ValueError):
        picture.drawing_frames(_canvases(1), read_boxes=np.zeros((T - 1, 4)), read_n=3)


def test_label_frame_changes_pixels_and_keeps_shape():
    for c in (1, 3):
        frame = np.full((64, 96, c), 128, np.uint8)
        out = picture.label_frame(frame, "step 50000")
        assert out.shape == frame.shape and out.dtype == np.uint8
        assert (out != 128).any() and (frame == 128).all()
        assert (out[-10:, -10:] == 128).all()  # only a corner is used


def test_evolution_frames():
    finals = _canvases(3)[:3]
    steps = [100, 5000, 50000]
    frames = picture.evolution_frames(finals, steps, scale=4)
    assert frames.shape == (3, H * 4, W * 4, 3)
    plain = picture.upscale(picture.to_uint8(finals), 4)
    assert all((frames[i] != plain[i]).any() for i in range(3))
    # different step numbers give different labels
    same = picture.evolution_frames(np.repeat(finals[:1], 2, axis=0), [1, 99999], scale=4)
    assert (same[0] != same[1]).any()
    with_target = picture.evolution_frames(finals, steps, scale=4, target=finals[0])
    assert with_target.shape == (3, H * 4, 2 * W * 4 + 8, 3)
    with pytest.raises(ValueError):
        picture.evolution_frames(finals, [1, 2])


@pytest.mark.parametrize("module", [picture, gif, formats])
def test_the_frame_and_format_modules_do_not_import_tensorflow(module):
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    names = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {n.split(".")[0] for n in names} & {"tensorflow", "keras"}


def test_tile_lays_cells_out_row_major_with_white_gutters():
    cells = np.stack([np.full((2, 3, 4, 1), 10 * (k + 1), np.uint8) for k in range(5)])  # 5 animations of 2 frames
    grid = picture.tile(cells, gap=2)
    cols, rows = 3, 2  # ceil(sqrt(5)) columns
    assert grid.shape == (2, rows * 3 + 3 * 2, cols * 4 + 4 * 2, 1)
    assert grid[1, 2, 2, 0] == 10 and grid[1, 2, 2 + 4 + 2, 0] == 20  # first row: cells 0, 1
    assert grid[0, 2 + 3 + 2, 2, 0] == 40  # second row starts with cell 3
    assert grid[0, 0, 0, 0] == 255 and grid[0, 2 + 3 + 2, 2 * (4 + 2) + 2, 0] == 255  # gutter, empty 6th cell
    # Float canvases in [0, 1] tile with gutters of 1.0, white once converted.
    floats = picture.tile(np.full((2, 3, 4, 1), 0.25, np.float32), gap=1, background=1.0)
    assert floats.dtype == np.float32 and floats[0, 0, 0] == 1.0 and floats[1, 1, 0] == 0.25
    with pytest.raises(ValueError, match="cells"):
        picture.tile(np.zeros((0, 3, 4, 1), np.uint8))
