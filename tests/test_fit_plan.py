"""drawart.fit_plan: what fit will do, merged with what the run holds, checked before anything is written."""

from dataclasses import replace

import numpy as np
import pytest
from conftest import assert_one_line

from drawart.config import BIG_PICTURE, ImageConfig, ModelConfig, RunConfig, TrainConfig
from drawart.errors import RunError
from drawart.fit_plan import check_resume, plan_fit
from drawart.image import ImageError, load_image


def base_config() -> RunConfig:
    return RunConfig(
        model=ModelConfig(height=16, width=24, channels=1, glimpses=8),
        train=TrainConfig(steps=100, lr=1e-3, seed=3, batch=2),
        image=ImageConfig(path="a.png", digest="d" * 64, size=24, gray=True),
    )


def test_check_resume_identical_passes(tmp_path):
    check_resume(base_config(), base_config(), tmp_path)


@pytest.mark.parametrize(
    "section, changes, named",
    [
        ("image", {"digest": "e" * 64, "path": "b.png"}, "image"),
        ("image", {"size": 32}, "size"),
        ("image", {"gray": False}, "gray"),
        ("model", {"glimpses": 9}, "glimpses"),
        ("model", {"attention": False}, "attention"),
        ("model", {"channels": 3}, "channels"),
        ("train", {"seed": 4}, "seed"),
        ("train", {"batch": 1}, "batch"),
        ("train", {"ema": 0.9}, "ema"),
    ],
)
def test_check_resume_refuses(tmp_path, section, changes, named):
    stored = base_config()
    wanted = replace(stored, **{section: replace(getattr(stored, section), **changes)})
    with pytest.raises(RunError) as err:
        check_resume(stored, wanted, tmp_path)
    message = assert_one_line(err)
    assert named in message and str(tmp_path) in message


def test_check_resume_digest_message_names_both_paths(tmp_path):
    stored = base_config()
    wanted = replace(stored, image=replace(stored.image, digest="e" * 64, path="b.png"))
    with pytest.raises(RunError, match=r"a\.png then, b\.png now"):
        check_resume(stored, wanted, tmp_path)


@pytest.mark.parametrize(
    "changes",
    [{"lr": 5e-4}, {"steps": 5000}, {"checkpoint_every": 7}, {"keep_checkpoints": 9}, {"gif_every": 10}],
)
def test_check_resume_allows_training_changes(tmp_path, changes):
    stored = base_config()
    check_resume(stored, replace(stored, train=replace(stored.train, **changes)), tmp_path)


def test_check_resume_ignores_path_and_versions(tmp_path):
    stored = base_config()
    wanted = replace(stored, image=replace(stored.image, path="moved/a.png"), versions={"numpy": "9"})
    check_resume(stored, wanted, tmp_path)


# ---------------------------------------------------------------------------------------------
# plan_fit


def test_plan_fit_new_run_writes_nothing(tmp_path, tiny_gray_png):
    out = tmp_path / "runs" / "gray"
    before = sorted(tmp_path.rglob("*"))
    plan = plan_fit(tiny_gray_png, out, size=24)
    assert sorted(tmp_path.rglob("*")) == before
    assert not out.exists() and not out.parent.exists()
    assert not plan.resuming
    assert plan.run.path == out
    assert plan.pixels.shape == (16, 24, 1)
    model = plan.config.model
    assert (model.height, model.width, model.channels) == (16, 24, 1)
    assert plan.config.image.digest == load_image(tiny_gray_png).digest
    assert len(plan.config.image.digest) == 64
    assert plan.config.image.gray is True and plan.config.image.size == 24
    import drawart  # the code's own version, not what an (editable) install's metadata says

    assert plan.config.versions["drawart"] == drawart.__version__
    assert plan.config.image.path == str(tiny_gray_png)
    assert plan.config.train == TrainConfig(gif_every=1000)  # about 20 milestones over the default 20,000 steps
    assert "python" in plan.config.versions


def test_plan_fit_shape_comes_from_the_image(tmp_path, tiny_rgb_png):
    plan = plan_fit(tiny_rgb_png, tmp_path / "run", size=40, model={"glimpses": 4, "height": None})
    model = plan.config.model
    assert (model.height, model.width, model.channels) == plan.pixels.shape == (24, 40, 3)
    assert model.glimpses == 4
    assert plan.config.image.gray is False
    gray = plan_fit(tiny_rgb_png, tmp_path / "run", size=40, gray=True)
    assert gray.config.model.channels == 1 and gray.config.image.gray is True


def test_a_new_run_keeps_about_20_milestones_unless_told_and_a_resumed_run_keeps_its_own(tmp_path, tiny_gray_png):
    def every(out="run", **train):
        return plan_fit(tiny_gray_png, tmp_path / out, size=24, train=train).config.train.gif_every

    assert every(steps=1_000_000) == 50_000
    assert every(steps=20_000) == 1_000
    assert every() == 1_000  # the default --steps, 20,000
    assert every(steps=30_000) == 2_000
    assert every(steps=10) == 1
    assert every(steps=1_000_000, gif_every=7) == 7  # the user's value wins
    assert every(steps=1_000_000, gif_every=0) == 0
    made = plan_fit(tiny_gray_png, tmp_path / "old", size=24, train={"steps": 100, "gif_every": 30})
    made.run.create(made.config)
    assert every("old", steps=1_000_000) == 30  # resumed to more steps, it keeps its own


def test_a_new_runs_block_in_and_taper_follow_its_glimpses_unless_given(tmp_path, tiny_gray_png):
    def model(**options):
        return plan_fit(tiny_gray_png, tmp_path / "run", size=24, model=options).config.model

    assert (model().block_in, model().taper) == (8, 8)  # T = 32
    assert (model(glimpses=12).block_in, model(glimpses=12).taper) == (3, 3)
    assert (model(glimpses=12, block_in=5).block_in, model(glimpses=12, block_in=5).taper) == (5, 3)
    assert (model(glimpses=12, window="paper").block_in, model(glimpses=12, window="paper").taper) == (0, 0)


def test_a_new_runs_write_grid_grows_with_the_image_unless_given(tmp_path):
    from PIL import Image

    picture = tmp_path / "big.png"
    Image.fromarray(np.linspace(0, 255, 300 * 200, dtype=np.float32).reshape(200, 300).astype(np.uint8)).save(picture)
    write_n = lambda size, **options: plan_fit(picture, tmp_path / "run", size=size, model=options).config.model.write_n
    assert write_n(64) == write_n(32) == 20
    assert write_n(128) > 20 and write_n(256) == 44 > write_n(128)
    assert write_n(256, write_n=12) == 12


def test_plan_fit_invalid_option_is_run_error(tmp_path, tiny_gray_png):
    with pytest.raises(RunError, match="glimpses") as err:
        plan_fit(tiny_gray_png, tmp_path / "run", model={"glimpses": 0})
    assert_one_line(err)
    with pytest.raises(RunError, match="steps"):
        plan_fit(tiny_gray_png, tmp_path / "run", train={"steps": 0})
    assert not (tmp_path / "run").exists()


def start_run(image, out, **kwargs):
    plan = plan_fit(image, out, **kwargs)
    plan.run.create(plan.config)
    return plan


def test_plan_fit_resume_keeps_stored_values(tmp_path, tiny_gray_png):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24, model={"glimpses": 7}, train={"seed": 5, "lr": 2e-3})
    stored_text = (out / "config.json").read_bytes()
    plan = plan_fit(tiny_gray_png, out, model={"glimpses": None, "z": None}, train={"seed": None, "lr": None})
    assert plan.resuming
    assert plan.config.model.glimpses == 7
    assert plan.config.image.size == 24  # size=None: the stored size, not the default 64
    assert plan.config.train.seed == 5 and plan.config.train.lr == 2e-3
    assert (out / "config.json").read_bytes() == stored_text


def test_plan_fit_resume_keeps_stored_gray(tmp_path, tiny_rgb_png):
    out = tmp_path / "run"
    start_run(tiny_rgb_png, out, size=20, gray=True)
    plan = plan_fit(tiny_rgb_png, out)  # gray=None: the stored gray, not the image's own colour
    assert plan.config.model.channels == 1 and plan.config.image.gray is True


def test_plan_fit_resume_keeps_original_image_path(tmp_path, tiny_gray_png):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24)
    copy = tmp_path / "copy.png"
    copy.write_bytes(tiny_gray_png.read_bytes())
    plan = plan_fit(copy, out)
    assert plan.config.image.path == str(tiny_gray_png)


def test_plan_fit_resume_may_change_lr_and_steps(tmp_path, tiny_gray_png):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24, model={"glimpses": 7})
    plan = plan_fit(tiny_gray_png, out, train={"lr": 1e-4, "steps": 50})
    assert plan.resuming
    assert plan.config.train.lr == 1e-4 and plan.config.train.steps == 50


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"model": {"glimpses": 8}}, "glimpses"),
        ({"train": {"seed": 1}}, "seed"),
        ({"train": {"ema": 0.0}}, "ema"),
        ({"size": 16}, "size"),
        ({"gray": False}, "gray"),
    ],
)
def test_plan_fit_refused_resume_leaves_config(tmp_path, tiny_gray_png, kwargs, named):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24, model={"glimpses": 7})
    before = (out / "config.json").read_bytes()
    listing = sorted(out.rglob("*"))
    with pytest.raises(RunError) as err:
        plan_fit(tiny_gray_png, out, **kwargs)
    assert named in assert_one_line(err)
    assert (out / "config.json").read_bytes() == before
    assert sorted(out.rglob("*")) == listing


def test_plan_fit_refuses_another_image(tmp_path, tiny_gray_png, tiny_rgb_png):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24)
    with pytest.raises(RunError, match="image") as err:
        plan_fit(tiny_rgb_png, out, size=24, gray=True)
    assert_one_line(err)


def test_plan_fit_out_is_a_file(tmp_path, tiny_gray_png):
    out = tmp_path / "not-a-dir"
    out.write_bytes(b"hello")
    with pytest.raises(RunError, match="is a file") as err:
        plan_fit(tiny_gray_png, out)
    assert_one_line(err)
    assert out.read_bytes() == b"hello"


@pytest.mark.parametrize(
    "text",
    [
        b"{ this is not json",
        b"",
        b"[1, 2]",
        b'{"model": {"glimpses": "32"}}',
        b'{"model": {"colour": 1}}',
        b'{"model": []}',
        b'{"modle": {}}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_plan_fit_broken_config_is_one_line_and_untouched(tmp_path, tiny_gray_png, text):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_bytes(text)
    with pytest.raises(RunError) as err:
        plan_fit(tiny_gray_png, out)
    message = assert_one_line(err)
    assert "config.json" in message
    assert (out / "config.json").read_bytes() == text
    assert [p.name for p in out.iterdir()] == ["config.json"]


def test_plan_fit_missing_image_creates_nothing(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ImageError):
        plan_fit(tmp_path / "missing.png", out)
    assert list(tmp_path.iterdir()) == []


def test_plan_fit_of_a_data_set_takes_the_data_set_defaults(tmp_path, digits_npz):
    plan = plan_fit(digits_npz, tmp_path / "run", val_fraction=0.25)
    assert plan.pixels.shape == (1797, 8, 8, 1)  # its own size: under 64, so not resized
    image = plan.config.image
    assert (image.dataset, image.count, image.size, image.val_fraction, image.binarize) == (True, 1797, 8, 0.25, False)
    assert (plan.config.train.batch, plan.config.train.lr) == (64, 1e-3)
    assert plan_fit(digits_npz, tmp_path / "run", train={"batch": 8}).config.train.batch == 8


def test_plan_fit_refuses_a_held_out_share_that_leaves_nothing(tmp_path):
    import numpy as np

    np.save(tmp_path / "one.npy", np.zeros((1, 8, 8), np.uint8))
    with pytest.raises(RunError, match="none to train on"):
        plan_fit(tmp_path / "one.npy", tmp_path / "run", val_fraction=0.5)


def test_plan_fit_binarizes_one_picture_too(tmp_path, tiny_gray_png):
    import numpy as np

    plan = plan_fit(tiny_gray_png, tmp_path / "run", size=24, binarize=True)
    gray = load_image(tiny_gray_png, size=24).pixels
    np.testing.assert_array_equal(plan.pixels, (gray > 0.5).astype(np.float32))
    assert plan.config.image.binarize and 0 < plan.pixels.mean() < 1


def test_a_new_runs_windows_learn_slower_above_64_px_unless_given(tmp_path, tiny_gray_png):
    def rate(size, **model):
        return plan_fit(tiny_gray_png, tmp_path / f"run-{size}", size=size, model=model).config.model.window_rate

    assert rate(64) == ModelConfig.window_rate == 1 / 3
    assert rate(65) == rate(256) == 0.1
    assert rate(256, window_rate=0.5) == 0.5
    assert (
        plan_fit(tiny_gray_png, tmp_path / "paper", size=256, model={"window": "paper"}).config.model.window_rate == 1.0
    )


def test_a_new_run_above_64_px_gets_a_window_margin_and_a_canvas_loss_unless_given(tmp_path, tiny_gray_png):
    def model(size, **given):
        return plan_fit(tiny_gray_png, tmp_path / f"run-{size}", size=size, model=given).config.model

    assert ModelConfig.window_margin == ModelConfig.canvas_loss == 0.0  # the paper's loss up to 64 px
    assert (model(64).window_margin, model(64).canvas_loss) == (0.0, 0.0)
    assert BIG_PICTURE["window_margin"] > 0 and BIG_PICTURE["canvas_loss"] > 0
    for size in (65, 256):
        drawn = model(size)
        assert (drawn.window_margin, drawn.canvas_loss) == (BIG_PICTURE["window_margin"], BIG_PICTURE["canvas_loss"])
    given = model(256, window_margin=0.0, canvas_loss=0.5)
    assert (given.window_margin, given.canvas_loss) == (0.0, 0.5)
    paper = plan_fit(tiny_gray_png, tmp_path / "paper", size=256, model={"window": "paper"}).config.model
    assert (paper.window_margin, paper.canvas_loss) == (0.0, 0.0)
