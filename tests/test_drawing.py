"""From a model to frames: names, window boxes, the reconstruction and evolution frames."""

import math

import numpy as np
import pytest
from conftest import set_raw_window, tiny_model_config

from drawart import drawing, picture, train
from drawart.config import ModelConfig, RenderConfig, TrainConfig, smooth_by_default


@pytest.fixture
def model():
    # The hand-computed geometry below is the paper's window; local windows have their own tests.
    return train.build_model(tiny_model_config(window="paper"), TrainConfig(jit_compile=False))


@pytest.fixture
def pixels():
    return np.random.default_rng(0).random((6, 9, 1)).astype("float32")


def test_output_names_sort_by_step_and_never_collide():
    assert drawing.output_name(50000, RenderConfig(), "gif") == "step-0050000.gif"
    assert drawing.output_name(None, RenderConfig(), "gif") == "evolution.gif"
    other = RenderConfig(boxes=False, side_by_side=True, render_size=128, seed=3)
    assert drawing.output_name(5, other, "png-sheet") == "step-0000005-noboxes-side-128px-seed3.png"
    # Samples always name their count and seed, so another -n or --seed never replaces a grid.
    assert drawing.output_name(5, RenderConfig(), "gif", samples=16) == "step-0000005-16samples-seed0.gif"
    # Blocks and other timings are named; a still PNG sheet has no timing to name.
    assert drawing.output_name(5, RenderConfig(smooth=False), "webp") == "step-0000005-nearest.webp"
    timed = RenderConfig(frame_ms=40, hold_ms=3000)
    assert drawing.output_name(5, timed, "gif") == "step-0000005-40ms-hold3000ms.gif"
    assert drawing.output_name(5, RenderConfig(frame_ms=40), "gif") == "step-0000005-40ms.gif"
    assert drawing.output_name(5, timed, "png-sheet") == "step-0000005.png"


def test_windows_are_mapped_to_the_rendered_grid(model):
    # g̃ = 0: the grid centre of a 9-wide, 6-high image is (4, 2.5) in 0-based pixels.
    raw = np.zeros((2, 5), "float32")
    boxes = drawing.windows(raw, 3, model, 1.0)
    np.testing.assert_allclose(boxes[0], [4.0, 2.5, 8 / 2, 1.0], rtol=1e-6)
    doubled = drawing.windows(raw, 3, model, 2.0)
    np.testing.assert_allclose(doubled[0], [8.5, 5.5, 8.0, 2.0], rtol=1e-6)


def test_reconstruction_frames_end_on_the_final_canvas(model, pixels):
    options = RenderConfig(boxes=False, smooth=False)
    frames = drawing.reconstruction_frames(model, pixels, options)
    scale = picture.default_scale(6, 9)
    assert frames.shape == (model.config.glimpses + 1, 6 * scale, 9 * scale, 1)
    final = model.trace(pixels, seed=options.seed)["canvases"][-1]
    np.testing.assert_array_equal(frames[-1], picture.upscale(picture.to_uint8(final), scale))


def test_smooth_draws_at_the_output_size_on_a_finer_grid(model, pixels):
    # 6×9 shown at ≥ 256 px: the nearest render upscales 9 px by s, the smooth one evaluates the
    # write filters on a grid s times finer. Same frame size; the smooth canvas is the fine trace.
    s = picture.default_scale(6, 9)
    nearest = drawing.reconstruction_frames(model, pixels, RenderConfig(boxes=False, smooth=False))
    smooth = drawing.reconstruction_frames(model, pixels, RenderConfig(boxes=False, smooth=True))
    assert smooth.shape == nearest.shape == (model.config.glimpses + 1, 6 * s, 9 * s, 1)
    fine = model.trace(pixels, grid_scale=s)["canvases"]
    np.testing.assert_array_equal(smooth, picture.to_uint8(fine))
    blocks = smooth[-1, :, :, 0].reshape(6, s, 9, s)
    assert (blocks != blocks[:, :1, :, :1]).any()  # not s×s blocks of one value
    # Side by side, the gap between target and canvas is the blocky render's 2·s pixels.
    side = drawing.reconstruction_frames(model, pixels, RenderConfig(boxes=False, side_by_side=True))
    assert side.shape[2] == 2 * 9 * s + 2 * s and (side[:, :, 9 * s : 9 * s + 2 * s] == 255).all()
    # A grid of samples keeps the blocky grid's size and gutters too.
    grid = drawing.sample_frames(model, 5, RenderConfig(boxes=False))
    assert grid.shape == drawing.sample_frames(model, 5, RenderConfig(boxes=False, smooth=False)).shape


def test_renders_keep_one_uint8_canvas_at_a_time(model, pixels):
    # At --render-size 1024 the T float canvases were the bulk of a render: each leaves the model
    # through `keep` as it is made, and only what keep returns is stacked.
    seen = []

    def keep(canvas):
        seen.append((canvas.dtype, canvas.shape))
        return picture.to_uint8(canvas)

    traced = model.trace(pixels, grid_scale=4, keep=keep)
    T = model.config.glimpses
    assert seen == [(np.dtype("float32"), (1, 24, 36, 1))] * (T + 1)
    assert traced["canvases"].dtype == np.uint8 and traced["canvases"].shape == (T + 1, 24, 36, 1)
    np.testing.assert_array_equal(traced["canvases"], picture.to_uint8(model.trace(pixels, grid_scale=4)["canvases"]))
    drawn = model.generate(3, grid_scale=2, keep=picture.to_uint8)["canvases"]
    assert drawn.dtype == np.uint8 and drawn.shape == (T + 1, 3, 12, 18, 1)


def test_a_record_matches_only_what_the_same_options_make():
    options = RenderConfig(frame_ms=40, smooth=True)  # as commands record them: smooth decided
    record = drawing.output_record(options, "gif", [5])
    assert drawing.made_alike(record, options, "gif", [5])
    assert not drawing.made_alike(record, RenderConfig(), "gif", [5])
    assert not drawing.made_alike(record, options, "webp", [5])
    assert not drawing.made_alike(record, options, "gif", [5, 10])  # an evolution of other milestones
    # A record from before `smooth` existed reads as what that release drew: nearest-neighbour blocks.
    older = {**record, "render": {k: v for k, v in record["render"].items() if k != "smooth"}}
    assert not drawing.made_alike(older, options, "gif", [5])
    assert drawing.made_alike(older, RenderConfig(frame_ms=40, smooth=False), "gif", [5])
    assert not drawing.made_alike({"render": {"nonsense": 1}}, options, "gif", [5])
    assert not drawing.made_alike(None, options, "gif", [5])


def test_render_size_draws_on_a_finer_grid(model, pixels):
    frames = drawing.reconstruction_frames(model, pixels, RenderConfig(boxes=False, render_size=36))
    assert frames.shape[1:3] == (24 * picture.default_scale(24, 36), 36 * picture.default_scale(24, 36))


def test_write_box_is_drawn_where_its_parameters_put_it(model, pixels):
    # Known parameters: zero kernel, the bias alone sets the write window of every glimpse.
    raw = np.array([0.0, 0.0, math.log(0.25), math.log(0.5), 0.0], "float32")
    set_raw_window(model.writer, raw)
    options = RenderConfig(scale=10)
    frame = drawing.reconstruction_frames(model, pixels, options)[1]
    # centre (4, 2.5), δ = 8/2·0.5 = 2, N = 3: the window spans x 1..7, y -0.5..5.5
    left = round((1 + 0.5) * 10)
    row = round((2.5 + 0.5) * 10)
    assert tuple(frame[row, left]) == picture.WRITE_COLOR
    assert tuple(frame[row, left + 15]) != picture.WRITE_COLOR


def test_evolution_has_one_labelled_frame_per_milestone(model, pixels):
    restored = []
    weights = [(step, lambda step=step: restored.append(step)) for step in (10, 20, 30)]
    frames = drawing.evolution_frames(model, pixels, weights, RenderConfig())
    assert restored == [10, 20, 30] and len(frames) == 3


def test_samples_are_drawn_in_step_in_a_grid(model):
    options = RenderConfig(boxes=False, seed=4, smooth=False)
    frames = drawing.sample_frames(model, 5, options)
    # 5 drawings of 6×9: 3 columns, 2 rows; the whole grid (27 px wide) is upscaled to >= 256 px.
    s = picture.default_scale(2 * 6, 3 * 9)
    assert frames.shape == (model.config.glimpses + 1, 2 * 6 * s + 3 * 2 * s, 3 * 9 * s + 4 * 2 * s, 1)
    canvases = model.generate(5, seed=4)["canvases"]
    for k, (row, col) in enumerate([(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]):
        y, x = 2 * s + row * (6 + 2) * s, 2 * s + col * (9 + 2) * s
        for t in (1, model.config.glimpses):
            cell = frames[t, y : y + 6 * s, x : x + 9 * s]
            np.testing.assert_array_equal(cell, picture.upscale(picture.to_uint8(canvases[t, k]), s))
    other_seed = drawing.sample_frames(model, 5, RenderConfig(boxes=False, seed=5))
    assert not np.array_equal(frames[-1], other_seed[-1])


def test_samples_with_boxes_show_each_write_window(model):
    # Known parameters, as above: every write window spans x 1..7 of the 9-pixel-wide canvas.
    raw = np.array([0.0, 0.0, math.log(0.25), math.log(0.5), 0.0], "float32")
    set_raw_window(model.writer, raw)
    frames = drawing.sample_frames(model, 2, RenderConfig(scale=10))
    assert frames.shape == (model.config.glimpses + 1, 60 + 2 * 20, 2 * 90 + 3 * 20, 3)
    row = 20 + round((2.5 + 0.5) * 10)
    for left in (20 + 15, 20 + 90 + 20 + 15):  # both samples, on every glimpse
        assert (frames[1:, row, left] == picture.WRITE_COLOR).all()
    assert not (frames[0] == picture.WRITE_COLOR).all(axis=-1).any()  # nothing written yet


# ---------------------------------------------------------------------------------------------
# A set of images (K, H, W, C): its K reconstructions drawn in step in one grid.


@pytest.fixture
def images():
    return np.random.default_rng(1).random((5, 6, 9, 1)).astype("float32")


def test_a_set_is_redrawn_in_step_in_a_grid(model, images):
    options = RenderConfig(boxes=False, seed=3, smooth=False)
    frames = drawing.reconstruction_frames(model, images, options)
    # 5 drawings of 6×9: 3 columns, 2 rows, the whole 12×27 grid upscaled to >= 256 px, 2·s gutters.
    s = picture.default_scale(2 * 6, 3 * 9)
    assert frames.shape == (model.config.glimpses + 1, 2 * 6 * s + 3 * 2 * s, 3 * 9 * s + 4 * 2 * s, 1)
    for k, (row, col) in enumerate([(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]):
        y, x = 2 * s + row * (6 + 2) * s, 2 * s + col * (9 + 2) * s
        alone = model.trace(images[k], seed=3)["canvases"]  # each cell is image k traced by itself
        for t in (1, model.config.glimpses):
            cell = frames[t, y : y + 6 * s, x : x + 9 * s].astype(int)
            want = picture.upscale(picture.to_uint8(alone[t]), s).astype(int)
            assert np.abs(cell - want).max() <= 1, (k, t)  # batched round-off may flip a rounding
    assert (frames[:, 2 * s + 8 * s :, 2 * s + 2 * 11 * s :] == 255).all()  # the empty sixth cell


def test_a_set_of_one_is_one_cell(model, images):
    frames = drawing.reconstruction_frames(model, images[:1], RenderConfig(boxes=False))
    s = picture.default_scale(6, 9)
    assert frames.shape == (model.config.glimpses + 1, 6 * s + 2 * 2 * s, 9 * s + 2 * 2 * s, 1)
    single = drawing.reconstruction_frames(model, images[0], RenderConfig(boxes=False))
    inner = frames[:, 2 * s : -2 * s, 2 * s : -2 * s].astype(int)
    assert np.abs(inner - single.astype(int)).max() <= 1


def test_a_set_side_by_side_puts_each_target_left_of_its_drawing(model, images):
    options = RenderConfig(boxes=False, scale=4, side_by_side=True)
    frames = drawing.reconstruction_frames(model, images, options)
    # Each cell: target 36 px, a 2·4 px gap, canvas 36 px; cells and gutters as without targets.
    cell_w = 9 * 4 + 2 * 4 + 9 * 4
    assert frames.shape == (model.config.glimpses + 1, 2 * 24 + 3 * 8, 3 * cell_w + 4 * 8, 1)
    y, x = 8 + 24 + 8, 8 + cell_w + 8  # cell 4: second row, second column
    target = picture.upscale(picture.to_uint8(images[4]), 4)
    np.testing.assert_array_equal(frames[0, y : y + 24, x : x + 36], target)
    np.testing.assert_array_equal(frames[-1, y : y + 24, x : x + 36], target)
    assert (frames[:, y : y + 24, x + 36 : x + 44] == 255).all()  # the gap before its canvas


def test_a_set_with_boxes_shows_each_cells_write_window(model, images):
    # Known parameters: zero kernel, so every glimpse of every image writes in x 1..7, y -0.5..5.5.
    raw = np.array([0.0, 0.0, math.log(0.25), math.log(0.5), 0.0], "float32")
    set_raw_window(model.writer, raw)
    frames = drawing.reconstruction_frames(model, images, RenderConfig(scale=10))
    assert frames.shape[-1] == 3
    row = 20 + 60 + 20 + round((2.5 + 0.5) * 10)  # second grid row
    for col in range(2):
        assert (frames[1:, row, 20 + col * (90 + 20) + 15] == picture.WRITE_COLOR).all()


def test_evolution_of_a_set_is_one_grid_per_milestone(model, images):
    restored = []
    weights = [(step, lambda step=step: restored.append(step)) for step in (10, 20, 30)]
    frames = drawing.evolution_frames(model, images, weights, RenderConfig())
    assert restored == [10, 20, 30]
    s = picture.default_scale(2 * 6, 3 * 9)
    assert frames.shape == (3, 2 * 6 * s + 3 * 2 * s, 3 * 9 * s + 4 * 2 * s, 1)
    # The grid's last cell (below the label) is image 4's finished drawing, as in the GIF's last frame.
    last = drawing.reconstruction_frames(model, images, RenderConfig(boxes=False))[-1]
    y, x = 2 * s + 8 * s, 2 * s + 11 * s
    np.testing.assert_array_equal(frames[-1, y:, x:], last[y:, x:])
    side = drawing.evolution_frames(model, images, weights, RenderConfig(side_by_side=True))
    assert side.shape == (3, frames.shape[1], 2 * frames.shape[2] + 2 * s, 1)
    grid_of_targets = side[0, :, : frames.shape[2]]
    first_target = picture.upscale(picture.to_uint8(images[0]), s)
    np.testing.assert_array_equal(grid_of_targets[2 * s : 8 * s, 2 * s : 11 * s], first_target)


def test_boxes_follow_local_windows_through_the_block_in_and_after():
    # 6×9 image, N = 3, block-in 2, bound 0.3 right after it (no taper). Zero kernel: every glimpse's
    # raw parameters are the bias; the window differs by glimpse only through the bound and the
    # starting place, which a confined write passes through tanh.
    config = tiny_model_config(glimpses=4, window="local", block_in=2, taper=0, max_window=0.3)
    model = train.build_model(config, TrainConfig(jit_compile=False))
    set_raw_window(model.writer, [0, 0, 0, 2.0, 0])
    floor = config.window_floor
    s = floor + (1 - floor) / (1 + math.exp(-2.0))  # a confined write's side share
    place = (2 * 0.25 - 1, 2 * (2 / 3) - 1)  # the 2nd Halton (2, 3) point, for glimpse 3
    inset = 1 - 0.3
    want = [
        (4.0, 2.5, 9 / 3 * s),  # block-in: centred, side up to the whole image
        (4.0, 2.5, 9 / 3 * s),
        None,
        (
            4.5 * (1 + math.tanh(place[0] * inset)) - 0.5,
            3 * (1 + math.tanh(place[1] * inset)) - 0.5,
            0.3 * 9 / 3 * s,
        ),  # local
    ]
    pixels = np.random.default_rng(0).random((6, 9, 1)).astype("float32")
    traced = model.trace(pixels)
    boxes = drawing.windows(traced["write"], 3, model, 1.0, "write")
    for t in (0, 1, 3):
        np.testing.assert_allclose(boxes[t, :3], want[t], rtol=1e-5)
        assert 0.5 * boxes[t, 2] - 1e-6 <= boxes[t, 3] <= 0.9 * boxes[t, 2] + 1e-6  # σ = s·δ
    frames = drawing.reconstruction_frames(model, pixels, RenderConfig(scale=10))
    for t, (gx, gy, delta) in ((0, want[0]), (3, want[3])):
        left = math.floor((gx - 1.5 * delta + 0.5) * 10)  # the box spans g ± N·δ/2
        row = round((gy + 0.5) * 10)
        assert tuple(frames[t + 1, row, left]) == picture.WRITE_COLOR, t
    # The small box of glimpse 3 is not the big one of glimpse 0.
    big_left = math.floor((want[0][0] - 1.5 * want[0][2] + 0.5) * 10)
    assert tuple(frames[4, round((want[3][1] + 0.5) * 10), big_left]) != picture.WRITE_COLOR


def test_the_papers_window_is_shown_in_blocks_by_default_as_0_1_0_showed_it():
    assert smooth_by_default(ModelConfig()) and not smooth_by_default(ModelConfig(window="paper"))
    assert not smooth_by_default(ModelConfig(attention=False))
    # Only a render that differs from the run's own default says so in its name.
    assert drawing.output_name(5, RenderConfig(smooth=False), "gif", smooth=False) == "step-0000005.gif"
    assert drawing.output_name(5, RenderConfig(smooth=True), "gif", smooth=False) == "step-0000005-smooth.gif"
    assert drawing.output_name(5, RenderConfig(smooth=True), "gif") == "step-0000005.gif"
