"""The public API (drawart.open_run) on the run drawart 0.8.0 recorded: it opens without TensorFlow,
and its model, frames and strokes at each kept step are what that release drew."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import drawart
from drawart.errors import DrawartError

DATA = Path(__file__).parent / "data"


@pytest.fixture
def run(tmp_path):
    return drawart.open_run(shutil.copytree(DATA / "run-0.8.0", tmp_path / "run"))


@pytest.fixture
def expected():
    return np.load(DATA / "run-0.8.0-expected.npz")


def test_opening_a_run_reads_what_it_kept_without_tensorflow():
    code = (
        "import sys, drawart; r = drawart.open_run(sys.argv[1]); "
        "print(r.milestones, r.steps, r.image.shape, 'tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(DATA / "run-0.8.0")], capture_output=True, text=True, check=True
    )
    assert out.stdout.split("\n")[0] == "[30, 60] [30, 60] (8, 12, 3) False"


def test_the_model_at_each_kept_step_draws_what_the_release_drew(run, expected):
    for step, name in ((None, "checkpoint-60"), (30, "milestone-30"), (60, "milestone-60")):
        canvases = run.model(step).trace(run.image, seed=0)["canvases"]
        np.testing.assert_allclose(canvases, expected[f"{name}/canvases"], atol=1e-5)


def test_frames_are_the_gif_frames_of_the_release(run, expected):
    frames = run.frames(30, scale=4).astype(int)
    want = expected["milestone-30/frames"].astype(int)
    assert frames.shape == want.shape
    assert np.abs(frames - want).max() <= 1 and (frames != want).mean() < 1e-3
    assert run.frames(30, scale=4, boxes=False).shape == want.shape


def test_strokes_redraw_the_canvases(run, expected):
    from drawart import export

    doc = run.strokes(30)
    assert doc["step"] == 30 and doc["schema"] == export.SCHEMA
    np.testing.assert_allclose(export.redraw(doc), expected["milestone-30/canvases"], atol=1e-4)


def test_a_step_not_kept_and_a_folder_not_a_run_are_one_clear_error(run, tmp_path):
    with pytest.raises(DrawartError, match="kept no weights at step 45"):
        run.model(45)
    with pytest.raises(DrawartError, match="not a drawart run"):
        drawart.open_run(tmp_path)
