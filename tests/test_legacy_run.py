"""Runs made by earlier releases (tests/data/run-VERSION, see record_run.py) resume and draw as those
releases did. Their config.json has none of the fields added since, and each must take the value
that reproduces what the release did, never the new default: 0.1.0 drew with the paper's window,
0.2.0 with local windows whose bound narrowed in one step (no taper), both from the weights being
trained; 0.4.0 tapered and drew from the moving average; none of them confined its writes to the
image. 0.5.0 does all of that, with a write window's side at least a tenth of its bound and log γ
within ±2; 0.6.0 with half the bound and ±0.5; 0.7.0 with a tenth of the bound and ±0.5. Before
0.8.0 the windows learnt at the rate of the rest of the network (0.8.0: a third of it) and only the
last canvas was scored. 0.10.0's is recorded with a window margin and the canvas loss. Later
releases are held to each."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from drawart import drawing, train
from drawart.cli import cli
from drawart.config import RenderConfig
from drawart.run import RunDir

DATA = Path(__file__).parent / "data"
# The window fields each release's config.json lacks, as that release drew.
LIMITS_0_5_0 = {"window_floor": 0.1, "gamma_range": 2.0}  # a confined write's, as 0.5.0 drew (unused unconfined)
# windows at the network's rate, the paper's loss, no margin
BEFORE_0_8_0 = {"window_rate": 1.0, "canvas_loss": 0.0, "window_margin": 0.0}
# 0.7.0's local windows (a block-in and taper of one at 6 glimpses), confined to a tenth of the
# bound and log γ within ±0.5: what 0.7.0, 0.8.0 and 0.10.0 recorded.
CONFINED_0_7_0 = {
    "window": "local",
    "max_window": 0.3,
    "block_in": 1,
    "taper": 1,
    "confined": True,
    "window_floor": 0.1,
    "gamma_range": 0.5,
}
RELEASES = {
    "0.1.0": {
        "window": "paper",
        "max_window": 1.0,
        "block_in": 0,
        "taper": 0,
        "confined": False,
        **LIMITS_0_5_0,
        **BEFORE_0_8_0,
    },
    "0.2.0": {
        "window": "local",
        "max_window": 0.3,
        "block_in": 2,
        "taper": 0,
        "confined": False,
        **LIMITS_0_5_0,
        **BEFORE_0_8_0,
    },
    "0.4.0": {
        "window": "local",
        "max_window": 0.3,
        "block_in": 1,
        "taper": 1,
        "confined": False,
        **LIMITS_0_5_0,
        **BEFORE_0_8_0,
    },
    "0.5.0": {
        "window": "local",
        "max_window": 0.3,
        "block_in": 1,
        "taper": 1,
        "confined": True,
        **LIMITS_0_5_0,
        **BEFORE_0_8_0,
    },
    "0.6.0": {
        "window": "local",
        "max_window": 0.3,
        "block_in": 1,
        "taper": 1,
        "confined": True,
        "window_floor": 0.5,
        "gamma_range": 0.5,
        **BEFORE_0_8_0,
    },
    "0.7.0": {
        **CONFINED_0_7_0,
        **BEFORE_0_8_0,
    },
    "0.8.0": {
        **CONFINED_0_7_0,
        "window_rate": 1 / 3,
        "canvas_loss": 0.0,
        "window_margin": 0.0,
    },
    # Recorded with a window margin and a canvas loss, which a run above 64 px gets (record_run.py).
    "0.10.0": {
        **CONFINED_0_7_0,
        "window_rate": 1 / 3,
        "canvas_loss": 1.0,
        "window_margin": 0.01,
    },
}
# The moving average each release drew from (0: the weights themselves).
EMA = {
    "0.1.0": 0.0,
    "0.2.0": 0.0,
    "0.4.0": 0.99,
    "0.5.0": 0.99,
    "0.6.0": 0.99,
    "0.7.0": 0.99,
    "0.8.0": 0.99,
    "0.10.0": 0.99,
}
# An option each release's run must refuse on resume: one that would change how it draws.
NEW_DRAWING = {
    "0.1.0": (["--window", "local"], ["--max-window", "0.3"]),
    "0.2.0": (["--taper", "8"], ["--ema", "0.99"]),
    "0.4.0": (["--taper", "2"], ["--ema", "0.9"]),
    "0.5.0": (["--block-in", "2"], ["--ema", "0"]),
    "0.6.0": (["--max-window", "0.5"], ["--ema", "0.9"]),
    "0.7.0": (["--taper", "3"], ["--ema", "0.5"]),
    "0.8.0": (["--block-in", "3"], ["--ema", "0.9"]),
    "0.10.0": (["--taper", "2"], ["--ema", "0.5"]),
}


@pytest.fixture(params=sorted(RELEASES))
def release(request):
    return request.param


@pytest.fixture
def expected(release):
    return np.load(DATA / f"run-{release}-expected.npz")


@pytest.fixture
def run(tmp_path, release):
    """A copy of the release's run: tests may write to it, the shipped one stays as made."""
    return RunDir(Path(shutil.copytree(DATA / f"run-{release}", tmp_path / f"run-{release}")))


def drawn(model, pixels, name, expected):
    """Compare what `model` draws now with what the release drew under `name`."""
    traced = model.trace(pixels, seed=0)
    # Float round-off of the canvases' matmuls (another layout inside the model) is all that may differ.
    np.testing.assert_allclose(traced["canvases"], expected[f"{name}/canvases"], atol=1e-5)
    for key in ("read", "write"):
        np.testing.assert_allclose(traced[key], expected[f"{name}/{key}"], atol=1e-5)
    cfg = model.config
    np.testing.assert_allclose(
        drawing.windows(traced["write"], cfg.write_n, model, 1.0, "write"), expected[f"{name}/write_boxes"], atol=1e-5
    )
    np.testing.assert_allclose(
        drawing.windows(traced["read"], cfg.read_n, model, 1.0, "read"), expected[f"{name}/read_boxes"], atol=1e-5
    )
    # The release's default render: 0.1.0 drew the training pixels upscaled into blocks (and so does
    # any paper-window run by default), 0.2.0 smooth local strokes.
    frames = drawing.reconstruction_frames(model, pixels, RenderConfig(scale=4)).astype(int)
    want = expected[f"{name}/frames"].astype(int)
    assert frames.shape == want.shape
    # A canvas value on a rounding boundary may round the other way: at most one level, rarely.
    assert np.abs(frames - want).max() <= 1 and (frames != want).mean() < 1e-3


def test_the_old_config_reads_as_the_release_drew(run, release):
    config = run.read_config()
    assert {name: getattr(config.model, name) for name in RELEASES[release]} == RELEASES[release]
    assert config.train.ema == EMA[release]


def test_its_checkpoint_and_milestones_draw_what_the_release_drew(run, expected):
    model, step = train.load_model(run)
    assert step == 60
    pixels = run.load_image()
    drawn(model, pixels, "checkpoint-60", expected)
    milestones = train.milestone_weights(run, model)
    assert [s for s, _ in milestones] == [30, 60]
    for step, restore in milestones:
        restore()
        drawn(model, pixels, f"milestone-{step}", expected)


def test_it_resumes_as_the_release_resumed_it(run, release, expected):
    result = CliRunner().invoke(
        cli, ["fit", str(DATA / "chelsea-24.png"), "--out", str(run.path), "--steps", "70", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "from step 60" in result.output
    config = run.read_config()
    assert config.train.steps == 70
    assert {name: getattr(config.model, name) for name in RELEASES[release]} == RELEASES[
        release
    ]  # the new default never reaches it
    assert config.train.ema == EMA[release]
    model, step = train.load_model(run)
    assert step == 70
    canvases = model.trace(run.load_image(), seed=0)["canvases"]
    # Ten XLA-compiled Adam steps from the same weights; round-off may differ a little on other CPUs.
    np.testing.assert_allclose(canvases, expected["resumed-70/canvases"], atol=1e-4)


def test_asking_it_to_draw_otherwise_is_refused_and_changes_nothing(run, release):
    before = {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()}
    for option in NEW_DRAWING[release]:
        result = CliRunner().invoke(cli, ["fit", str(DATA / "chelsea-24.png"), "--out", str(run.path), *option])
        assert result.exit_code == 2
        field = option[0].lstrip("-").replace("-", "_")
        assert len(result.output.strip().splitlines()) == 1
        assert f"{field} (" in result.output or f"{option[0]} shapes local windows" in result.output
    assert {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()} == before
