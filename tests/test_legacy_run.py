"""A run made by drawart 0.1.0 (tests/data/run-0.1.0, see record_run_0_1_0.py) resumes and draws as
0.1.0 did. Its config.json has none of the fields added since, and each must take the value that
reproduces what 0.1.0 did: the paper's window, never the new default."""

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
EXPECTED = np.load(DATA / "run-0.1.0-expected.npz")


@pytest.fixture
def run(tmp_path):
    """A copy of the 0.1.0 run: tests may write to it, the shipped one stays as made."""
    return RunDir(Path(shutil.copytree(DATA / "run-0.1.0", tmp_path / "run-0.1.0")))


def drawn(model, pixels, name):
    """Compare what `model` draws now with what 0.1.0 drew under `name`."""
    traced = model.trace(pixels, seed=0)
    # Float round-off of the canvases' matmuls (another layout inside the model) is all that may differ.
    np.testing.assert_allclose(traced["canvases"], EXPECTED[f"{name}/canvases"], atol=1e-5)
    for key in ("read", "write"):
        np.testing.assert_allclose(traced[key], EXPECTED[f"{name}/{key}"], atol=1e-5)
    cfg = model.config
    np.testing.assert_allclose(drawing.windows(traced["write"], cfg.write_n, model, 1.0, "write"), EXPECTED[f"{name}/write_boxes"], atol=1e-5)
    np.testing.assert_allclose(drawing.windows(traced["read"], cfg.read_n, model, 1.0, "read"), EXPECTED[f"{name}/read_boxes"], atol=1e-5)
    # 0.1.0 drew the training pixels upscaled into blocks, and so does a paper-window run by default.
    frames = drawing.reconstruction_frames(model, pixels, RenderConfig(scale=4)).astype(int)
    want = EXPECTED[f"{name}/frames"].astype(int)
    assert frames.shape == want.shape
    # A canvas value on a rounding boundary may round the other way: at most one level, rarely.
    assert np.abs(frames - want).max() <= 1 and (frames != want).mean() < 1e-3


def test_the_old_config_reads_as_the_papers_window(run):
    model = run.read_config().model
    assert (model.window, model.max_window, model.block_in) == ("paper", 1.0, 0)


def test_its_checkpoint_and_milestones_draw_what_0_1_0_drew(run):
    model, step = train.load_model(run)
    assert step == 60
    pixels = run.load_image()
    drawn(model, pixels, "checkpoint-60")
    milestones = train.milestone_weights(run, model)
    assert [s for s, _ in milestones] == [30, 60]
    for step, restore in milestones:
        restore()
        drawn(model, pixels, f"milestone-{step}")


def test_it_resumes_as_0_1_0_resumed_it(run):
    result = CliRunner().invoke(cli, ["fit", str(DATA / "chelsea-24.png"), "--out", str(run.path), "--steps", "70", "-q"])
    assert result.exit_code == 0, result.output
    assert "from step 60" in result.output
    config = run.read_config()
    assert config.model.window == "paper" and config.train.steps == 70  # the new default never reaches it
    model, step = train.load_model(run)
    assert step == 70
    canvases = model.trace(run.load_image(), seed=0)["canvases"]
    # Ten XLA-compiled Adam steps from the same weights; round-off may differ a little on other CPUs.
    np.testing.assert_allclose(canvases, EXPECTED["resumed-70/canvases"], atol=1e-4)


def test_asking_it_for_local_windows_is_refused_and_changes_nothing(run):
    before = {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()}
    for option in (["--window", "local"], ["--max-window", "0.3"]):
        result = CliRunner().invoke(cli, ["fit", str(DATA / "chelsea-24.png"), "--out", str(run.path), *option])
        assert result.exit_code == 2
        assert len(result.output.strip().splitlines()) == 1 and "window" in result.output
    assert {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()} == before
